"""The actions the policy allows on an account right now, each with the rule that allows it.

This is the whole of what any reasoner may choose from. The guarantees hold here, not in the
reasoner: no email during a pause, above the weekly limit, sooner than the minimum gap or
outside the contact's business hours; only invoices whose step is due; one combined email per
account; and a Wait is always on offer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.actions.models import Action, ActionKind, AgencyEscalation, PaymentPlan, WriteOff
from shared.collections.plans import propose_plan
from shared.collections.policy import Tone
from shared.collections.state import (
    PLAN_OFFER_TEMPLATE,
    STATEMENT_TEMPLATE,
    AccountState,
    InvoiceState,
    midnight,
)
from shared.collections.timing import (
    escalation_due_at,
    next_review,
    next_touch_time,
    statement_due_on,
)
from shared.ledger.models import Contact, Invoice
from shared.policy.models import ApprovalRule, Policy, PolicyGap


class Offer(BaseModel):
    """What every candidate carries: the policy rule that allows it and why it is offered now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    rule: str = Field(description="The policy rule that allows this action")
    reason: str = Field(description="Why it is on offer now")

    @property
    def key(self) -> str:
        """Names the candidate among those offered for one decision."""
        return self.kind


class Outreach(Offer):
    """An email to the account's contact, cleared to go out at `not_before`."""

    template: str
    contact_id: str
    invoice_numbers: tuple[str, ...]
    not_before: datetime

    @property
    def key(self) -> str:
        return f"{super().key}:{','.join(self.invoice_numbers)}"


class SendReminder(Outreach):
    kind: Literal["send_reminder"] = "send_reminder"
    tone: Tone
    cadence_steps: dict[str, int] = Field(
        description="Per invoice, the days_from_due of its step; recorded on the touch"
    )


class SendFinalNotice(Outreach):
    kind: Literal["send_final_notice"] = "send_final_notice"
    tone: Literal[Tone.FINAL_NOTICE] = Tone.FINAL_NOTICE
    cadence_steps: dict[str, int]


class SendStatement(Outreach):
    kind: Literal["send_statement"] = "send_statement"


class ProposePaymentPlan(Outreach):
    kind: Literal["propose_payment_plan"] = "propose_payment_plan"
    plan: PaymentPlan


class Wait(Offer):
    kind: Literal["wait"] = "wait"
    until: datetime


class EscalateToPerson(Offer):
    kind: Literal["escalate_to_person"] = "escalate_to_person"
    context: dict[str, str] = Field(description="What the person needs to pick the account up")


class RequestApproval(Offer):
    kind: Literal["request_approval"] = "request_approval"
    action: Action
    approval_rule: str
    approvers: list[str]

    @property
    def key(self) -> str:
        return f"request_approval:{self.action.kind.value}"


class WriteOffSmallBalance(Offer):
    kind: Literal["write_off_small_balance"] = "write_off_small_balance"
    action: WriteOff

    @property
    def key(self) -> str:
        return f"write_off_small_balance:{self.action.invoice_number}"


Candidate = Annotated[
    SendReminder
    | SendFinalNotice
    | SendStatement
    | ProposePaymentPlan
    | Wait
    | EscalateToPerson
    | RequestApproval
    | WriteOffSmallBalance,
    Field(discriminator="kind"),
]

OUTREACH: tuple[type[Outreach], ...] = (
    SendReminder,
    SendFinalNotice,
    SendStatement,
    ProposePaymentPlan,
)


def build_candidates(state: AccountState, policy: Policy) -> list[Candidate]:
    """Everything the policy allows on the account at `state.now`; the Wait always last."""
    offered: list[Candidate] = [
        *_escalations(state, policy),
        *_write_offs(state, policy),
        *_plan_offers(state, policy),
        *_outreach(state, policy),
    ]
    review = next_review(state, policy.collections)
    offered.append(Wait(until=review.at, reason=review.reason, rule=review.rule))
    return offered


def _outreach(state: AccountState, policy: Policy) -> list[Candidate]:
    contact = _cleared_recipient(state, policy)
    if contact is None:
        return []
    emails: list[Candidate | None] = [_reminder(state, contact), _statement(state, policy, contact)]
    return [email for email in emails if email is not None]


def _cleared_recipient(state: AccountState, policy: Policy) -> Contact | None:
    """The contact an email may go to right now, or None when no email may go now."""
    rules = policy.collections
    if not rules.outreach_enabled or state.pause is not None:
        return None
    if next_touch_time(state, rules) != state.now:
        return None
    return state.recipient


def _reminder(state: AccountState, contact: Contact) -> SendReminder | SendFinalNotice | None:
    due = state.due_invoices
    if not due:
        return None
    steps = state.steps
    pressing = max(due, key=lambda i: (steps[_due(i)].tone.rank, steps[_due(i)].days_from_due))
    step = steps[_due(pressing)]
    # An invoice not yet past due would read as overdue in a firmer email than its own step.
    listed = [i for i in due if i.days_past_due > 0 or steps[_due(i)].tone is step.tone]
    reminder = SendReminder(
        tone=step.tone,
        template=step.template,
        contact_id=contact.contact_id,
        invoice_numbers=tuple(i.number for i in listed),
        not_before=state.now,
        cadence_steps={i.number: steps[_due(i)].days_from_due for i in listed},
        rule=f"collections.cadence.{state.segment}[{_due(pressing)}]",
        reason=_reminder_reason(listed, pressing, step.tone),
    )
    if step.tone is Tone.FINAL_NOTICE:
        return SendFinalNotice(**reminder.model_dump(exclude={"kind", "tone"}))
    return reminder


def _reminder_reason(due: Sequence[InvoiceState], pressing: InvoiceState, tone: Tone) -> str:
    bumped = f", a step up after broken promise {pressing.bumped_by}" if pressing.bumped_by else ""
    return (
        f"{len(due)} invoice(s) due a reminder; most pressing {pressing.number}, "
        f"{pressing.days_past_due} days from due, at the {tone.value} step{bumped}"
    )


def _statement(state: AccountState, policy: Policy, contact: Contact) -> SendStatement | None:
    every = policy.collections.statements.every_days
    listed = state.unpaused_invoices
    if every is None or not listed or statement_due_on(state, every) > state.today:
        return None
    return SendStatement(
        template=STATEMENT_TEMPLATE,
        contact_id=contact.contact_id,
        invoice_numbers=tuple(i.number for i in listed),
        not_before=state.now,
        rule="collections.statements.every_days",
        reason=f"no statement in the last {every} days; {len(listed)} open invoice(s)",
    )


def _plan_offers(state: AccountState, policy: Policy) -> list[Candidate]:
    """A plan offered unasked: on the agent's authority as an email, else as an approval."""
    overdue = _plan_eligible(state, policy)
    if not overdue:
        return []
    proposal = propose_plan(policy, state.account_id, overdue, state.today)
    reason = (
        f"{len(overdue)} invoice(s) overdue, the oldest {overdue[0].days_past_due(state.today)} "
        f"days; {proposal.plan.amount} {proposal.plan.currency} in "
        f"{len(proposal.plan.instalments)} instalments"
    )
    if proposal.approval is not None:
        return [_approval(proposal.plan, proposal.approval, reason)]
    contact = _cleared_recipient(state, policy)
    if contact is None:
        return []
    offer = ProposePaymentPlan(
        template=PLAN_OFFER_TEMPLATE,
        contact_id=contact.contact_id,
        invoice_numbers=tuple(proposal.plan.invoice_numbers),
        not_before=state.now,
        plan=proposal.plan,
        rule="collections.payment_plans.offer_from_days_past_due",
        reason=reason,
    )
    return [offer]


def _plan_eligible(state: AccountState, policy: Policy) -> list[Invoice]:
    """The overdue invoices a plan would cover, when one may be offered unasked."""
    rules = policy.collections.payment_plans
    if rules.offer_from_days_past_due is None or state.pause is not None or state.had_plan:
        return []
    if state.last_sent(PLAN_OFFER_TEMPLATE) is not None or ActionKind.PAYMENT_PLAN in _pending(
        state
    ):
        return []
    overdue = [i for i in state.unpaused_invoices if i.days_past_due > 0]
    if not overdue or max(i.days_past_due for i in overdue) < rules.offer_from_days_past_due:
        return []
    trigger = midnight(overdue[0].invoice.due_date + timedelta(days=rules.offer_from_days_past_due))
    amount = sum((i.open_amount for i in overdue), Decimal(0))
    if state.escalated_since(trigger) or not _at_least(policy, amount, state, rules.min_balance):
        return []
    return [i.invoice for i in overdue]


def _write_offs(state: AccountState, policy: Policy) -> list[Candidate]:
    if state.pause is not None:
        return []
    rules = policy.collections.small_balances
    return [
        WriteOffSmallBalance(
            action=WriteOff(
                account_id=state.account_id,
                invoice_number=invoice.number,
                currency=invoice.invoice.currency,
                amount=invoice.open_amount,
                reason=f"small balance left open {invoice.days_past_due} days past due",
            ),
            rule="collections.small_balances.write_off_below",
            reason=f"{invoice.open_amount} {invoice.invoice.currency} left on {invoice.number}, "
            f"below {rules.write_off_below} {policy.base_currency}",
        )
        for invoice in state.unpaused_invoices
        if invoice.days_past_due >= rules.min_days_past_due
        and policy.small_balance_write_off(invoice.open_amount, invoice.invoice.currency)
    ]


def _escalations(state: AccountState, policy: Policy) -> list[Candidate]:
    """At most one agency request, and one hand-over to a person naming every reason for it."""
    agency, concerns = _after_cadence(state, policy)
    concerns += [*_plan_defaults(state), *_no_contact(state, policy), *_replies(state)]
    offered: list[Candidate] = [agency] if agency is not None else []
    if concerns:
        context: dict[str, str] = {}
        for concern in concerns:
            context.update(concern.context)
        offered.append(
            EscalateToPerson(
                rule="; ".join(c.rule for c in concerns),
                reason="; ".join(c.reason for c in concerns),
                context=context,
            )
        )
    return offered


@dataclass(frozen=True)
class _Concern:
    rule: str
    reason: str
    context: dict[str, str]


def _replies(state: AccountState) -> list[_Concern]:
    """A reply asking for what only a person can give, not yet put in front of one."""
    asked = state.signals.reply_for_a_person
    if asked is None or state.escalated_since(asked[0]):
        return []
    received_at, what = asked
    return [
        _Concern(
            rule="replies: a person answers",
            reason=f"the customer {what} ({received_at:%Y-%m-%d})",
            context={"customer's reply": f"{received_at:%Y-%m-%d %H:%M} UTC: {what}"},
        )
    ]


def _after_cadence(
    state: AccountState, policy: Policy
) -> tuple[RequestApproval | None, list[_Concern]]:
    """Once the last step went unanswered long enough: an agency request, or a person."""
    due_at = escalation_due_at(state, policy.collections)
    if due_at is None or state.now < due_at or state.pause is not None:
        return None, []
    if state.escalated_since(state.last_step_at) or _pending(state):
        return None, []
    final = len(state.steps) - 1
    finished = [i for i in state.unpaused_invoices if i.last_step == final]
    if not finished:
        return None, []
    agency = _agency_request(state, policy, finished)
    if agency is not None:
        return agency, []
    concern = _Concern(
        rule="collections.escalation.days_after_final_notice",
        reason=f"no payment or reply since the last reminder step "
        f"({state.last_step_at:%Y-%m-%d}) went out",
        context=_context(state, finished),
    )
    return None, [concern]


def _agency_request(
    state: AccountState, policy: Policy, finished: Sequence[InvoiceState]
) -> RequestApproval | None:
    rules = policy.collections.escalation
    if rules.agency_from_amount is None:
        return None
    late = [i for i in finished if i.days_past_due >= rules.agency_min_days_past_due]
    amount = sum((i.open_amount for i in late), Decimal(0))
    if not late or not _at_least(policy, amount, state, rules.agency_from_amount):
        return None
    action = AgencyEscalation(
        account_id=state.account_id,
        currency=state.currency,
        amount=amount,
        invoice_numbers=[i.number for i in late],
        reason=f"{amount} {state.currency} at least {rules.agency_min_days_past_due} days "
        "overdue; reminders exhausted with no payment or reply",
    )
    rule = policy.approval_always(
        ActionKind.AGENCY_ESCALATION, amount, state.currency, "agency escalation"
    )
    return _approval(action, rule, action.reason)


def _plan_defaults(state: AccountState) -> list[_Concern]:
    concerns = []
    for plan in state.plans:
        missed = plan.missed
        if not missed or state.escalated_since(midnight(missed[0].missed_on)):
            continue
        owed = ", ".join(
            f"{m.instalment.due_date} ({m.instalment.amount - m.paid})" for m in missed
        )
        concerns.append(
            _Concern(
                rule="collections.payment_plans.grace_days",
                reason=f"payment plan {plan.case.case_id} missed the instalment of "
                f"{missed[0].instalment.due_date}",
                context={
                    f"plan {plan.case.case_id}": f"received {plan.received} "
                    f"{plan.case.currency}; missed {owed}"
                },
            )
        )
    return concerns


def _no_contact(state: AccountState, policy: Policy) -> list[_Concern]:
    rules = policy.collections
    due = state.due_invoices
    if not rules.outreach_enabled or state.pause is not None or state.recipient is not None:
        return []
    if not due:
        return []
    became_due = max(
        midnight(i.invoice.due_date + timedelta(days=state.steps[_due(i)].days_from_due))
        for i in due
    )
    if state.escalated_since(became_due):
        return []
    return [
        _Concern(
            rule="collections.cadence",
            reason="a reminder is due but no contact can be mailed (bounced, complained or none)",
            context=_context(state, due),
        )
    ]


def _approval(
    action: WriteOff | PaymentPlan | AgencyEscalation, rule: ApprovalRule, reason: str
) -> RequestApproval:
    return RequestApproval(
        action=action,
        approval_rule=rule.name,
        approvers=list(rule.approvers),
        rule=f"approvals: {rule.name}",
        reason=reason,
    )


def _context(state: AccountState, invoices: Sequence[InvoiceState]) -> dict[str, str]:
    listed = "; ".join(
        f"{i.number} {i.open_amount} {state.currency}, {i.days_past_due} days past due"
        for i in invoices
    )
    context = {
        "account": f"{state.account.name} ({state.account_id})",
        "invoices": listed,
        "open_balance": f"{state.open_balance} {state.currency}",
        "last_touch": _when(state.last_touch_at),
        "last_payment": str(state.last_payment_on or "never"),
        "last_reply": _when(state.signals.last_reply_at),
    }
    return context


def _when(instant: datetime | None) -> str:
    return instant.isoformat() if instant is not None else "never"


def _at_least(policy: Policy, amount: Decimal, state: AccountState, threshold: Decimal) -> bool:
    try:
        return policy.in_base_currency(amount, state.currency) >= threshold
    except PolicyGap:
        return False


def _pending(state: AccountState) -> frozenset[ActionKind]:
    return state.signals.pending_approvals


def _due(invoice: InvoiceState) -> int:
    if invoice.due_step is None:
        raise ValueError(f"invoice {invoice.number} has no step due")
    return invoice.due_step
