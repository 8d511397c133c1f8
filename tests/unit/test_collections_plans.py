"""Payment plans add up to the cent, stay within the policy's limits, and are watched."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.collections.plans import InstalmentStatus, propose_plan, schedule, track_plan
from shared.money import MINOR_UNITS
from tests.collections_factories import TODAY, allocation, example_policy, invoice, payment, plan

RULES = example_policy().collections.payment_plans


def test_instalments_are_equal_with_the_remainder_on_the_last():
    # When 100.00 EUR is split three ways, a month apart from 9 March
    instalments = schedule(Decimal("100.00"), "EUR", date(2026, 3, 9), 3, 30)

    # Then two of 33.33 and one of 33.34
    assert [str(i.amount) for i in instalments] == ["33.33", "33.33", "33.34"]
    assert [i.due_date for i in instalments] == [
        date(2026, 3, 9),
        date(2026, 4, 8),
        date(2026, 5, 8),
    ]


def test_an_amount_of_fewer_minor_units_than_instalments_gets_fewer_instalments():
    assert [str(i.amount) for i in schedule(Decimal("0.02"), "EUR", TODAY, 6, 30)] == [
        "0.01",
        "0.01",
    ]


@given(
    minor_units=st.integers(min_value=1, max_value=10**13),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CLF", "USD"]),
    count=st.integers(min_value=1, max_value=60),
)
def test_instalments_always_sum_exactly_to_the_amount(minor_units, currency, count):
    amount = Decimal(minor_units).scaleb(-MINOR_UNITS[currency])

    instalments = schedule(amount, currency, TODAY, count, 30)

    assert sum(i.amount for i in instalments) == amount
    assert all(i.amount > 0 for i in instalments)
    assert len({i.amount for i in instalments[:-1]}) <= 1
    assert instalments[-1].amount >= instalments[0].amount


def test_a_plan_within_the_limits_is_offered_on_the_agents_authority():
    # Given 1,500 EUR overdue on two invoices
    overdue = [invoice("INV-1", 50, "1000.00"), invoice("INV-2", 20, "500.00")]

    # When a plan is proposed
    proposal = propose_plan(example_policy(), "ACME", overdue, TODAY)

    # Then three instalments, the first a week from today, no approval needed
    assert not proposal.needs_approval
    assert [str(i.amount) for i in proposal.plan.instalments] == ["500.00", "500.00", "500.00"]
    assert proposal.plan.instalments[0].due_date == TODAY + timedelta(days=7)
    assert proposal.plan.invoice_numbers == ["INV-1", "INV-2"]


def test_a_plan_above_the_limits_waits_for_approval():
    big = [invoice("INV-1", 50, "12000.00")]

    assert propose_plan(example_policy(), "ACME", big, TODAY).approval.name == (
        "fallback: above 10000 EUR"
    )
    long = propose_plan(example_policy(), "ACME", [invoice("INV-1", 50)], TODAY, instalments=9)
    assert long.approval.name == "fallback: more than 6 instalments"


def test_a_running_plan_fills_instalments_in_order_and_notices_a_missed_one():
    # Given a plan of three 400s from 1 February, with 500 received since it opened
    running = plan(
        "PL-1",
        [
            (date(2026, 2, 1), "400.00"),
            (date(2026, 2, 25), "400.00"),
            (date(2026, 3, 25), "400.00"),
        ],
        numbers=["INV-1"],
        opened_at=TODAY - timedelta(days=40),
    )
    paid = [payment("PAY-1", "500.00", date(2026, 2, 1), unapplied="0.00")]
    applied = [allocation("PAY-1", "INV-1", "500.00", date(2026, 2, 1))]

    # When it is tracked on 2 March (the second instalment is 5 days late, grace is 3)
    progress = track_plan(running, paid, applied, TODAY, RULES)

    # Then the first is paid, the second missed with 100 towards it, the third upcoming
    assert [i.status for i in progress.instalments] == [
        InstalmentStatus.PAID,
        InstalmentStatus.MISSED,
        InstalmentStatus.UPCOMING,
    ]
    assert progress.instalments[1].paid == Decimal("100.00")
    assert progress.defaulted
    assert progress.next_unpaid.instalment.due_date == date(2026, 3, 25)


def test_an_instalment_within_its_grace_is_not_yet_missed():
    running = plan("PL-1", [(TODAY - timedelta(days=3), "400.00")], opened_at=TODAY - timedelta(9))

    progress = track_plan(running, [], [], TODAY, RULES)

    assert progress.instalments[0].status is InstalmentStatus.UPCOMING
    assert progress.instalments[0].missed_on == TODAY + timedelta(days=1)
