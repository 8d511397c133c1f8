"""From a chosen email candidate to what is sent and what is recorded: the rendered email in the
contact's language, and the touch that tells the next decision which steps went out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.collections.candidates import (
    Outreach,
    ProposePaymentPlan,
    SendFinalNotice,
    SendReminder,
)
from shared.collections.policy import CollectionsPolicy, Tone
from shared.collections.state import AccountState
from shared.collections.templates import (
    EmailContext,
    InstalmentLine,
    InvoiceLine,
    RenderedEmail,
    render,
)
from shared.ledger.models import Contact, Touch

FIRM_PAY_WITHIN = timedelta(days=7)


def compose(
    state: AccountState, email: Outreach, rules: CollectionsPolicy, sender_name: str
) -> tuple[Contact, RenderedEmail]:
    """The contact an email goes to and the email itself, rendered in the contact's language."""
    contact = state.account.contact(email.contact_id)
    if contact is None:
        raise ValueError(f"contact {email.contact_id} is not on account {state.account_id}")
    listed = {i.number: i for i in state.invoices}
    lines = [
        InvoiceLine(
            number=number,
            due_date=listed[number].invoice.due_date,
            amount=listed[number].open_amount,
            currency=listed[number].invoice.currency,
            days_overdue=listed[number].days_past_due,
        )
        for number in email.invoice_numbers
    ]
    context = EmailContext(
        account_name=state.account.name,
        contact_name=contact.name,
        sender_name=sender_name,
        currency=state.currency,
        as_of=state.today,
        invoices=lines,
        instalments=_instalments(email),
        pay_by=_pay_by(state, email, rules),
    )
    return contact, render(email.template, contact.language, context)


def touch_for(
    email: Outreach,
    touch_id: str,
    sent_at: datetime,
    account_id: str,
    message_id: str | None = None,
    decision_id: str | None = None,
) -> Touch:
    """The record of an email sent; reminders carry the step each invoice was at."""
    steps = email.cadence_steps if isinstance(email, SendReminder | SendFinalNotice) else {}
    return Touch(
        account_id=account_id,
        touch_id=touch_id,
        sent_at=sent_at,
        contact_id=email.contact_id,
        template=email.template,
        invoice_numbers=list(email.invoice_numbers),
        cadence_steps=dict(steps),
        message_id=message_id,
        decision_id=decision_id,
    )


def _instalments(email: Outreach) -> list[InstalmentLine]:
    if not isinstance(email, ProposePaymentPlan):
        return []
    plan = email.plan
    return [InstalmentLine(i.due_date, i.amount, plan.currency) for i in plan.instalments]


def _pay_by(state: AccountState, email: Outreach, rules: CollectionsPolicy) -> date | None:
    if isinstance(email, SendFinalNotice):
        return state.today + timedelta(days=rules.escalation.days_after_final_notice)
    if isinstance(email, SendReminder) and email.tone is Tone.FIRM:
        return state.today + FIRM_PAY_WITHIN
    return None
