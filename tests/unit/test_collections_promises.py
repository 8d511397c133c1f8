"""A promise to pay is judged only once the money could have arrived, and a broken one counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.collections.policy import Promises
from shared.collections.promises import PromiseStatus, effective_date, judge_promise
from shared.collections.state import build_state
from shared.ledger.models import CaseStatus, PaymentMethod
from tests.collections_factories import (
    NOW,
    TODAY,
    allocation,
    example_policy,
    invoice,
    payment,
    promise,
    records,
    touch,
)

RULES = example_policy().collections.promises


@pytest.mark.parametrize(
    ("method", "days"),
    [
        (PaymentMethod.CHECK, 7),
        (PaymentMethod.ACH, 2),
        (PaymentMethod.WIRE, 1),
        (PaymentMethod.SEPA, 1),
        (None, 3),
    ],
)
def test_the_effective_date_allows_for_how_the_payment_travels(method, days):
    assert effective_date(date(2026, 3, 10), method, RULES) == date(2026, 3, 10) + timedelta(days)


def test_a_method_the_policy_does_not_list_takes_the_days_of_other():
    rules = Promises(clearing_days={PaymentMethod.OTHER: 4})

    assert effective_date(date(2026, 3, 10), PaymentMethod.CARD, rules) == date(2026, 3, 14)


@given(
    promised=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    method=st.none() | st.sampled_from(PaymentMethod),
    clearing=st.dictionaries(st.sampled_from(PaymentMethod), st.integers(0, 60)),
    grace=st.integers(0, 30),
)
def test_an_effective_date_is_never_before_the_promised_date(promised, method, clearing, grace):
    rules = Promises(clearing_days=clearing, grace_days=grace)

    assert effective_date(promised, method, rules) >= promised


def judged(case, *cash, open_numbers=("INV-1",), today=TODAY):
    payments = [c for c in cash if hasattr(c, "payment_id") and not hasattr(c, "source")]
    allocations = [c for c in cash if hasattr(c, "source")]
    return judge_promise(case, payments, allocations, set(open_numbers), today, RULES)


def test_a_promise_is_pending_until_its_deadline_has_passed():
    # Given a cheque promised for 2 March: 7 days to arrive plus 3 grace, deadline 12 March
    made = promise("P-1", date(2026, 3, 2), numbers=["INV-1"], payment_method="check")

    state = judged(made, today=date(2026, 3, 12))

    assert state.deadline == date(2026, 3, 12)
    assert state.status is PromiseStatus.PENDING
    assert judged(made, today=date(2026, 3, 13)).status is PromiseStatus.BROKEN


def test_a_promise_is_kept_by_cash_applied_to_its_invoices_or_waiting_to_be_matched():
    made = promise("P-1", date(2026, 3, 2), amount="1000.00", numbers=["INV-1"])
    applied = [payment("PAY-1", "600.00", TODAY, unapplied="0.00")]
    applied.append(allocation("PAY-1", "INV-1", "600.00", TODAY))
    unmatched = payment("PAY-2", "400.00", TODAY)

    assert judged(made, *applied).status is PromiseStatus.PENDING
    assert judged(made, *applied, unmatched).status is PromiseStatus.KEPT


def test_cash_applied_to_other_invoices_does_not_keep_a_promise():
    made = promise("P-1", date(2026, 3, 2), amount="1000.00", numbers=["INV-1"])
    elsewhere = [payment("PAY-1", "1000.00", TODAY, unapplied="0.00")]
    elsewhere.append(allocation("PAY-1", "INV-9", "1000.00", TODAY))

    assert judged(made, *elsewhere, today=date(2026, 3, 20)).status is PromiseStatus.BROKEN


def test_a_promise_whose_invoices_were_settled_otherwise_is_kept():
    made = promise("P-1", date(2026, 3, 2), numbers=["INV-1"])

    assert judged(made, open_numbers=()).status is PromiseStatus.KEPT


def test_a_status_a_person_recorded_stands():
    made = promise("P-1", date(2026, 3, 2), status=CaseStatus.BROKEN)

    assert judged(made).status is PromiseStatus.BROKEN


def test_a_broken_promise_moves_its_invoices_one_step_up_the_ladder_at_once():
    # Given INV-1 at 20 days past due, reminded at the friendly step (+3) on day 5
    policy = example_policy()
    reminded = touch(NOW - timedelta(days=15), {"INV-1": 3})
    # And a promise to pay it by 20 February, never kept (broken from 27 February)
    broken = promise("P-1", date(2026, 2, 20), numbers=["INV-1"], opened_at=NOW - timedelta(14))
    account_records = records(invoices=[invoice("INV-1", 20)], touches=[reminded], cases=[broken])

    # When the state is read
    state = build_state(account_records, NOW, policy)

    # Then the firm step (+14) is due, as the calendar says, and not bumped past it
    [inv] = state.invoices
    assert (inv.last_step, inv.due_step, inv.bumped_by) == (1, 2, None)

    # Given instead it had already had its firm reminder after the promise broke
    answered = records(
        invoices=[invoice("INV-1", 20)],
        touches=[reminded, touch(NOW - timedelta(days=2), {"INV-1": 14}, template="firm")],
        cases=[broken],
    )
    [inv] = build_state(answered, NOW, policy).invoices
    # Then nothing more is due: the broken promise has been answered
    assert inv.due_step is None


def test_a_broken_promise_brings_the_next_step_forward():
    # Given INV-1 at 10 days past due, already reminded at the friendly step (+3)
    policy = example_policy()
    broken = promise("P-1", date(2026, 2, 20), numbers=["INV-1"], opened_at=NOW - timedelta(12))
    account_records = records(
        invoices=[invoice("INV-1", 10)],
        touches=[touch(NOW - timedelta(days=8), {"INV-1": 3})],
        cases=[broken],
    )

    # When the promise has broken (27 February)
    [inv] = build_state(account_records, NOW, policy).invoices

    # Then the firm step (+14) is due now, four days before the calendar would have it
    assert inv.due_step == 2
    assert inv.bumped_by == "P-1"
