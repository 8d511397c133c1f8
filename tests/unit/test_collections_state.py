"""The account as collections reads it: where each invoice stands and what pauses outreach."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.actions.models import ActionKind
from shared.collections.state import Signals, build_state
from shared.ledger.models import AccountStatus, CaseKind, CaseStatus, InvoiceStatus
from tests.collections_factories import (
    NOW,
    TODAY,
    account,
    case,
    contact,
    example_policy,
    invoice,
    payment,
    plan,
    promise,
    records,
    touch,
)

POLICY = example_policy()


def state_of(**parts):
    return build_state(records(**parts), NOW, POLICY)


def test_open_invoices_are_listed_oldest_first_with_their_balances():
    # Given one invoice paid, one 40 days overdue and one not yet due
    paid = invoice("INV-0", 60).model_copy(update={"status": InvoiceStatus.PAID})
    state = state_of(invoices=[invoice("INV-2", -5, "50.00"), invoice("INV-1", 40), paid])

    assert [(i.number, i.days_past_due) for i in state.invoices] == [("INV-1", 40), ("INV-2", -5)]
    assert state.open_balance == Decimal("1250.00")
    assert state.overdue_balance == Decimal("1200.00")


def test_each_invoice_knows_its_last_step_the_step_due_and_the_next_one():
    # Given INV-1 reminded at the friendly step (+3) and now 20 days past due
    state = state_of(
        invoices=[invoice("INV-1", 20)], touches=[touch(NOW - timedelta(10), {"INV-1": 3})]
    )

    # Then the firm step (+14) is due and the final notice (+30) falls on day 30
    [inv] = state.invoices
    assert (inv.last_step, inv.due_step) == (1, 2)
    assert inv.next_step_on == inv.invoice.due_date + timedelta(days=30)


def test_a_late_invoice_skips_straight_to_the_step_the_calendar_has_reached():
    [inv] = state_of(invoices=[invoice("INV-1", 45)]).invoices

    assert (inv.last_step, inv.due_step, inv.next_step_on) == (None, 3, None)


def test_nothing_is_due_before_the_first_step_nor_twice_for_the_same_step():
    [early] = state_of(invoices=[invoice("INV-1", -10)]).invoices
    [sent] = state_of(
        invoices=[invoice("INV-1", 5)], touches=[touch(NOW - timedelta(1), {"INV-1": 3})]
    ).invoices

    assert early.due_step is None
    assert early.next_step_on == TODAY + timedelta(days=7)
    assert sent.due_step is None


def test_statements_and_plan_offers_do_not_count_as_reminder_steps():
    [inv] = state_of(
        invoices=[invoice("INV-1", 5)],
        touches=[touch(NOW - timedelta(1), template="statement", numbers=["INV-1"])],
    ).invoices

    assert inv.due_step == 1


def test_touches_of_the_last_seven_days_are_counted_newest_first():
    state = state_of(
        touches=[
            touch(NOW - timedelta(days=8)),
            touch(NOW - timedelta(2)),
            touch(NOW - timedelta(5)),
        ]
    )

    assert state.touches_last_7_days == 2
    assert state.last_touch_at == NOW - timedelta(days=2)


@pytest.mark.parametrize(
    ("owner", "reason"),
    [
        (account(status=AccountStatus.INSOLVENT), "account is insolvent"),
        (account(status=AccountStatus.CLOSED), "account is closed"),
        (account(autopay=True), "customer pays by autopay"),
        (
            account(hold_until=TODAY + timedelta(days=3), hold_reason="CFO call"),
            "on hold until 2026-03-05: CFO call",
        ),
    ],
)
def test_an_account_pause_names_its_reason(owner, reason):
    assert state_of(owner=owner).pause.reason == reason


def test_a_hold_ends_on_its_date():
    assert state_of(owner=account(hold_until=TODAY)).pause is None


def test_a_dispute_pauses_only_the_invoices_it_names():
    disputed = case("D-1", CaseKind.DISPUTE, numbers=["INV-1"])

    state = state_of(invoices=[invoice("INV-1", 20), invoice("INV-2", 20)], cases=[disputed])

    assert state.pause is None
    assert [i.number for i in state.due_invoices] == ["INV-2"]
    assert state.invoices[0].pause.reason == "open dispute D-1"


def test_a_case_naming_no_invoices_pauses_the_whole_account():
    state = state_of(invoices=[invoice("INV-1", 20)], cases=[case("D-1", CaseKind.DISPUTE)])

    assert state.pause.reason == "open dispute D-1"


def test_a_resolved_dispute_or_a_deduction_pauses_nothing():
    resolved = case("D-1", CaseKind.DISPUTE, status=CaseStatus.RESOLVED)
    deduction = case("DED-1", CaseKind.DEDUCTION, numbers=["INV-1"])

    state = state_of(invoices=[invoice("INV-1", 20)], cases=[resolved, deduction])

    assert state.pause is None
    assert state.invoices[0].pause is None
    assert set(state.open_cases) == {CaseKind.DEDUCTION}


def test_a_pending_promise_pauses_until_it_breaks_and_a_broken_one_does_not():
    pending = promise("P-1", TODAY, numbers=["INV-1"])
    broken = promise(
        "P-2", TODAY - timedelta(days=20), numbers=["INV-2"], opened_at=NOW - timedelta(30)
    )

    state = state_of(invoices=[invoice("INV-1", 20), invoice("INV-2", 40)], cases=[pending, broken])

    assert state.active_promise.case.case_id == "P-1"
    assert state.invoices[1].pause.until == date(2026, 3, 9)  # INV-1: the day P-1 is judged
    assert state.invoices[0].pause is None  # INV-2, 40 days overdue: P-2 broke


def test_a_plan_pauses_while_on_track_and_not_once_an_instalment_is_missed():
    on_track = plan("PL-1", [(TODAY + timedelta(days=5), "1200.00")], numbers=["INV-1"])
    missed = plan("PL-1", [(TODAY - timedelta(days=5), "1200.00")], numbers=["INV-1"])

    assert state_of(invoices=[invoice("INV-1", 40)], cases=[on_track]).due_invoices == []
    defaulted = state_of(invoices=[invoice("INV-1", 40)], cases=[missed])
    assert defaulted.active_plan.defaulted
    assert [i.number for i in defaulted.due_invoices] == ["INV-1"]


def test_only_active_contacts_can_be_mailed_accounts_payable_first():
    people = [
        contact("boss", role="escalation"),
        contact("gone", status="bounced"),
        contact("billing", role="billing"),
        contact("ap"),
    ]

    state = state_of(owner=account(contacts=people))

    assert [c.contact_id for c in state.contacts] == ["ap", "billing", "boss"]
    assert state.recipient.contact_id == "ap"


def test_the_last_step_and_the_last_payment_are_known_for_escalation():
    state = state_of(
        invoices=[invoice("INV-1", 40)],
        touches=[touch(NOW - timedelta(days=9), {"INV-1": 30}, template="final_notice")],
        payments=[payment("PAY-1", "10.00", TODAY - timedelta(days=20))],
    )

    assert state.last_step_at == NOW - timedelta(days=9)
    assert state.last_payment_on == TODAY - timedelta(days=20)


def test_signals_from_outside_the_ledger_are_carried_through():
    signals = Signals(escalated_at=NOW, pending_approvals=frozenset({ActionKind.WRITE_OFF}))

    state = build_state(records(), NOW, POLICY, signals)

    assert state.escalated_since(NOW - timedelta(days=1))
    assert not state.escalated_since(None)
    assert ActionKind.WRITE_OFF in state.signals.pending_approvals


def test_an_unknown_segment_follows_standard():
    state = state_of(owner=account(risk_segment="vip"))

    assert state.segment == "standard"
    assert state.steps == tuple(POLICY.collections.cadence["standard"])
