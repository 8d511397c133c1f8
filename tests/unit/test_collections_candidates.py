"""What the policy allows on an account right now, and nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.actions.models import ActionKind, AgencyEscalation, PaymentPlan
from shared.collections.candidates import (
    EscalateToPerson,
    ProposePaymentPlan,
    RequestApproval,
    SendFinalNotice,
    SendReminder,
    SendStatement,
    Wait,
    WriteOffSmallBalance,
    build_candidates,
)
from shared.collections.policy import Tone
from shared.collections.state import Signals, build_state
from shared.ledger.models import AccountStatus, CaseKind
from shared.policy.models import Policy
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
    records,
    touch,
)

QUIET = example_policy(
    statements={},
    payment_plans={"offer_from_days_past_due": None},
    small_balances={"write_off_below": "0"},
)
"""The example policy with only reminders and escalations on, to look at one thing at a time."""


def offered(
    policy: Policy = QUIET, now: datetime = NOW, signals: Signals | None = None, **parts: Any
) -> list[Any]:
    return build_candidates(build_state(records(**parts), now, policy, signals), policy)


def kinds(candidates: list[Any]) -> list[str]:
    return [c.kind for c in candidates]


def test_one_email_combines_every_invoice_whose_step_is_due_in_the_most_pressing_tone():
    # Given INV-1 at the firm step, INV-2 at the friendly step, INV-3 reminded yesterday
    candidates = offered(
        invoices=[invoice("INV-1", 15), invoice("INV-2", 4, "300.00"), invoice("INV-3", 5)],
        touches=[touch(NOW - timedelta(days=4), {"INV-3": 3})],
    )

    # Then one firm reminder lists INV-1 and INV-2 with the step each was at
    [reminder, wait] = candidates
    assert isinstance(reminder, SendReminder)
    assert reminder.tone is Tone.FIRM
    assert reminder.template == "firm"
    assert reminder.invoice_numbers == ("INV-1", "INV-2")
    assert reminder.cadence_steps == {"INV-1": 14, "INV-2": 3}
    assert reminder.contact_id == "ap"
    assert reminder.not_before == NOW
    assert reminder.rule == "collections.cadence.standard[2]"
    assert isinstance(wait, Wait)


def test_an_invoice_not_yet_due_is_left_out_of_a_firmer_email():
    [reminder, _] = offered(invoices=[invoice("INV-1", 15), invoice("INV-2", -3)])

    assert reminder.invoice_numbers == ("INV-1",)


def test_the_last_step_of_the_ladder_is_a_final_notice():
    [notice, _] = offered(invoices=[invoice("INV-1", 31)])

    assert isinstance(notice, SendFinalNotice)
    assert notice.cadence_steps == {"INV-1": 30}


def test_nothing_is_sent_sooner_than_the_minimum_gap():
    # Given a touch two days ago (the gap is three days)
    candidates = offered(invoices=[invoice("INV-1", 15)], touches=[touch(NOW - timedelta(2))])

    # Then only a wait, until the gap has passed (inside Berlin business hours)
    [wait] = candidates
    assert wait.until == NOW + timedelta(days=1)
    assert wait.rule.startswith("collections.min_days_between_touches")


def test_nothing_is_sent_above_the_weekly_limit():
    busy = [touch(NOW - timedelta(days=6, hours=20)), touch(NOW - timedelta(days=3, hours=1))]

    [wait] = offered(invoices=[invoice("INV-1", 15)], touches=busy)

    assert wait.until == NOW + timedelta(hours=4)


def test_nothing_is_sent_outside_the_contacts_business_hours():
    # Given the contact is in New York, where it is 05:00
    owner = account(contacts=[contact(time_zone="America/New_York")])

    [wait] = offered(owner=owner, invoices=[invoice("INV-1", 15)])

    assert wait.until == datetime(2026, 3, 2, 14, tzinfo=UTC)


def test_nothing_is_sent_during_a_pause():
    for owner in (account(status=AccountStatus.INSOLVENT), account(autopay=True)):
        assert kinds(offered(owner=owner, invoices=[invoice("INV-1", 15)])) == ["wait"]
    disputed = case("D-1", CaseKind.DISPUTE)
    assert kinds(offered(invoices=[invoice("INV-1", 15)], cases=[disputed])) == ["wait"]


def test_switching_outreach_off_leaves_only_the_wait():
    silent = example_policy(outreach_enabled=False)

    assert kinds(offered(silent, invoices=[invoice("INV-1", 15)])) == ["wait"]


def test_a_wait_is_always_offered_last():
    assert kinds(offered())[-1] == "wait"
    assert kinds(offered(invoices=[invoice("INV-1", 15)]))[-1] == "wait"


def final_notice_sent(days_ago: int, *numbers: str) -> Any:
    return touch(NOW - timedelta(days=days_ago), dict.fromkeys(numbers, 30), "final_notice")


def test_an_unanswered_final_notice_goes_to_a_person():
    # Given a final notice 15 days ago (escalation after 14) and no payment or reply since
    candidates = offered(invoices=[invoice("INV-1", 50)], touches=[final_notice_sent(15, "INV-1")])

    # Then the account is handed to a person with what they need to pick it up
    [escalation, _] = candidates
    assert isinstance(escalation, EscalateToPerson)
    assert escalation.rule == "collections.escalation.days_after_final_notice"
    assert "INV-1 1200.00 EUR, 50 days past due" in escalation.context["invoices"]


def test_a_payment_or_a_reply_after_the_final_notice_restarts_the_wait():
    sent = [final_notice_sent(15, "INV-1")]
    recently = TODAY - timedelta(days=8)

    with_payment = offered(
        invoices=[invoice("INV-1", 50)], touches=sent, payments=[payment("P", "10.00", recently)]
    )
    with_reply = offered(
        invoices=[invoice("INV-1", 50)],
        touches=sent,
        signals=Signals(last_reply_at=NOW - timedelta(days=5)),
    )

    assert kinds(with_payment) == kinds(with_reply) == ["wait"]
    # And the escalation falls due 14 days after the payment
    assert with_payment[-1].until == datetime(2026, 3, 8, tzinfo=UTC)


def test_an_account_already_put_in_front_of_a_person_is_not_escalated_again():
    signals = Signals(escalated_at=NOW - timedelta(days=1))

    candidates = offered(
        invoices=[invoice("INV-1", 50)], touches=[final_notice_sent(15, "INV-1")], signals=signals
    )

    assert kinds(candidates) == ["wait"]


def test_a_reply_only_a_person_can_answer_goes_to_one_once():
    # Given the customer wrote yesterday that they have paid
    asked = (NOW - timedelta(days=1), "says they have paid, and no payment matched yet")

    # When the account is looked at, before and after a person was put onto it
    before = offered(invoices=[invoice("INV-1", 2)], signals=Signals(reply_for_a_person=asked))
    after = offered(
        invoices=[invoice("INV-1", 2)],
        signals=Signals(reply_for_a_person=asked, escalated_at=NOW - timedelta(hours=1)),
    )

    # Then it is handed over once, saying what the customer asked
    [escalation] = [c for c in before if isinstance(c, EscalateToPerson)]
    assert escalation.rule == "replies: a person answers"
    assert escalation.reason == (
        f"the customer says they have paid, and no payment matched yet ({asked[0]:%Y-%m-%d})"
    )
    assert "escalate_to_person" not in kinds(after)


def test_a_large_balance_long_overdue_is_requested_for_agency_escalation():
    # Given 6,000 EUR at 100 days past due, final notice unanswered
    candidates = offered(
        invoices=[invoice("INV-1", 100, "6000.00")], touches=[final_notice_sent(20, "INV-1")]
    )

    [request, _] = candidates
    assert isinstance(request, RequestApproval)
    assert isinstance(request.action, AgencyEscalation)
    assert request.action.amount == Decimal("6000.00")
    assert request.approvers == ["controller@example.com"]


def test_an_agency_request_already_waiting_is_not_asked_again():
    signals = Signals(pending_approvals=frozenset({ActionKind.AGENCY_ESCALATION}))

    candidates = offered(
        invoices=[invoice("INV-1", 100, "6000.00")],
        touches=[final_notice_sent(20, "INV-1")],
        signals=signals,
    )

    assert kinds(candidates) == ["wait"]


def test_a_small_balance_long_overdue_is_written_off_on_the_agents_authority():
    policy = example_policy()

    candidates = offered(
        policy,
        invoices=[invoice("INV-1", 70, "100.00", open_amount="12.50"), invoice("INV-2", 10)],
    )

    [write_off] = [c for c in candidates if isinstance(c, WriteOffSmallBalance)]
    assert write_off.action.invoice_number == "INV-1"
    assert write_off.action.amount == Decimal("12.50")
    assert not any(
        isinstance(c, WriteOffSmallBalance)
        for c in offered(policy, invoices=[invoice("INV-1", 30, "100.00", open_amount="12.50")])
    )


def test_a_payment_plan_is_offered_unasked_once_an_invoice_is_late_enough():
    policy = example_policy(statements={})

    candidates = offered(policy, invoices=[invoice("INV-1", 50, "3000.00")])

    [proposal] = [c for c in candidates if isinstance(c, ProposePaymentPlan)]
    assert proposal.template == "payment_plan"
    assert len(proposal.plan.instalments) == 3
    assert sum(i.amount for i in proposal.plan.instalments) == Decimal("3000.00")


def test_a_plan_beyond_the_agents_limits_is_requested_for_approval_instead():
    policy = example_policy(statements={})

    candidates = offered(policy, invoices=[invoice("INV-1", 50, "30000.00")])

    [request] = [c for c in candidates if isinstance(c, RequestApproval)]
    assert isinstance(request.action, PaymentPlan)
    assert request.approval_rule == "fallback: above 10000 EUR"
    assert not any(isinstance(c, ProposePaymentPlan) for c in candidates)


def test_a_plan_is_not_offered_twice():
    policy = example_policy(statements={})
    offered_before = touch(NOW - timedelta(days=10), template="payment_plan", numbers=["INV-1"])

    candidates = offered(
        policy, invoices=[invoice("INV-1", 50, "3000.00")], touches=[offered_before]
    )

    assert not any(isinstance(c, ProposePaymentPlan) for c in candidates)


def test_a_statement_goes_out_at_most_every_so_many_days():
    policy = example_policy(payment_plans={}, small_balances={"write_off_below": "0"})
    not_due = [invoice("INV-1", -20)]

    [statement, _] = offered(policy, invoices=not_due)
    recent = [touch(NOW - timedelta(days=10), template="statement", numbers=["INV-1"])]

    assert isinstance(statement, SendStatement)
    assert statement.invoice_numbers == ("INV-1",)
    assert kinds(offered(policy, invoices=not_due, touches=recent)) == ["wait"]


def test_a_due_reminder_with_nobody_to_mail_goes_to_a_person():
    owner = account(contacts=[contact(status="bounced")])

    [escalation, _] = offered(owner=owner, invoices=[invoice("INV-1", 15)])

    assert isinstance(escalation, EscalateToPerson)
    assert "no contact can be mailed" in escalation.reason


def test_a_missed_plan_instalment_goes_to_a_person_and_reminders_resume():
    missed = plan("PL-1", [(TODAY - timedelta(days=10), "1200.00")], numbers=["INV-1"])

    candidates = offered(invoices=[invoice("INV-1", 40)], cases=[missed])

    assert kinds(candidates) == ["escalate_to_person", "send_final_notice", "wait"]
    assert "missed the instalment" in candidates[0].reason
