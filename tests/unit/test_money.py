from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import MINOR_UNITS, Money, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10", "EUR", "10.00"),
        ("10.5", "USD", "10.50"),
        ("1500", "JPY", "1500"),
        ("1.234", "KWD", "1.234"),
        (7, "CHF", "7.00"),
    ],
)
def test_amounts_are_held_at_the_minor_unit_of_their_currency(amount, currency, expected):
    assert str(to_minor_units(amount, currency)) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("10.001", "EUR", "at most 2 decimal places"),
        ("1.5", "JPY", "at most 0 decimal places"),
        ("abc", "EUR", "is not a number"),
        ("NaN", "EUR", "finite"),
        (1.5, "EUR", "float"),
    ],
)
def test_amounts_that_would_need_rounding_or_are_not_numbers_are_refused(amount, currency, reason):
    with pytest.raises(ValueError, match=reason):
        to_minor_units(amount, currency)


def test_an_unknown_currency_code_is_refused_by_name():
    with pytest.raises(ValueError, match="'EURO' is not an ISO 4217 currency code"):
        to_minor_units("1", "EURO")


def test_money_in_different_currencies_cannot_be_added():
    with pytest.raises(ValueError, match="cannot combine EUR with USD"):
        _ = Money.of("1", "EUR") + Money.of("1", "USD")


@given(
    cents=st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=30),
    currency=st.sampled_from(sorted(MINOR_UNITS)),
)
def test_adding_money_is_exact_whatever_the_amounts(cents, currency):
    unit = Decimal(1).scaleb(-MINOR_UNITS[currency])
    total = Money.of(0, currency)
    for count in cents:
        total = total + Money.of(count * unit, currency)
    assert total.amount == sum(cents) * unit
