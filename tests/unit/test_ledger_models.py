from datetime import date

import pytest
from pydantic import ValidationError

from shared.ledger.aging import aging, bucket_for
from tests.factories import contact, invoice, payment, profile


def _fields(error: ValidationError) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["msg"] for e in error.errors()}


def test_an_invoice_due_before_it_was_issued_is_refused():
    with pytest.raises(ValidationError, match="due_date: must not be before issue_date"):
        invoice("INV-1", issued=date(2026, 2, 1), terms_days=-1)


def test_an_invoice_amount_with_too_many_decimals_is_refused_on_its_field():
    with pytest.raises(ValidationError) as refused:
        invoice("INV-1", amount="10.005")
    assert "EUR amounts have at most 2 decimal places" in _fields(refused.value)["amount"]


def test_contacts_need_a_real_email_time_zone_and_language():
    with pytest.raises(ValidationError) as refused:
        contact(email="not-an-email", time_zone="Mars/Olympus", language="English")
    assert set(_fields(refused.value)) == {"email", "time_zone", "language"}


def test_contact_ids_are_unique_within_an_account():
    with pytest.raises(ValidationError, match="contact_id must be unique"):
        profile(contacts=[contact("ap"), contact("ap")])


def test_a_credit_limit_is_quantized_to_the_account_currency():
    assert str(profile(currency="JPY", credit_limit="500000").credit_limit) == "500000"
    with pytest.raises(ValidationError, match="at most 0 decimal places"):
        profile(currency="JPY", credit_limit="1.5")


def test_payment_allocations_may_not_exceed_the_payment():
    with pytest.raises(ValidationError, match="exceed the payment amount"):
        payment("P1", "100.00", ("INV-1", "60.00"), ("INV-2", "50.00"))


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_days_past_due_fall_into_the_usual_aging_buckets(days, bucket):
    assert bucket_for(days) == bucket


def test_aging_sums_open_amounts_by_bucket():
    from shared.ledger.models import Invoice

    def stored(number: str, due: date, amount: str) -> Invoice:
        new = invoice(number, amount=amount, issued=date(2025, 11, 1), terms_days=0)
        return Invoice(
            **{**new.model_dump(), "due_date": due},
            open_amount=new.amount,
            created_at="2025-11-01T00:00:00Z",
        )

    invoices = [
        stored("A", date(2026, 3, 10), "100.00"),
        stored("B", date(2026, 2, 20), "50.25"),
        stored("C", date(2025, 11, 15), "10.00"),
    ]
    buckets = aging(invoices, on=date(2026, 3, 2))
    assert {k: str(v) for k, v in buckets.items() if v} == {
        "current": "100.00",
        "1-30": "50.25",
        "90+": "10.00",
    }
