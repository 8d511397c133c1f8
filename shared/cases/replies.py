"""What the agent does with an interpreted reply: the cases it opens and the events it audits.

Only these follow from a reply, whatever it says: a promise recorded, a dispute opened, a
request for a plan or a claim to have paid noted for the loop and cash application. Case ids
derive from the message, so a message taken in twice can never open a case twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.audit.models import Actor, ActorKind, Entry
from shared.cases.ids import DISPUTE, PROMISE, case_id_for
from shared.cases.models import CaseSource, NewPromise
from shared.cases.promises import promise_case, recorded_entry
from shared.errors import InvalidInput
from shared.ledger.aging import open_invoices
from shared.ledger.models import Case, CaseKind, CaseStatus, Invoice, InvoiceStatus
from shared.ledger.store import AccountRecords
from shared.mail.interpret import Interpretation, ReplyIntent

ACTOR = Actor(kind=ActorKind.AGENT, id="inbound_mail")
DISPUTE_OPENED = "dispute.opened"
PLAN_REQUESTED = "plan.requested"
PAYMENT_CLAIMED = "payment.claimed"


@dataclass(frozen=True)
class ReplyResponse:
    """The cases to open and events to audit, with the one-line outcome the message records."""

    outcome: str
    cases: list[Case] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


def respond_to_reply(
    records: AccountRecords,
    interpretation: Interpretation,
    message_id: str,
    excerpt: str,
    now: datetime,
) -> ReplyResponse:
    """What to record for a reply tied to this account; pure, so the caller commits it all
    together with the message itself."""
    reply = _Reply(records, interpretation, message_id, excerpt, now)
    responders = {
        ReplyIntent.PROMISE_TO_PAY: reply.promise,
        ReplyIntent.DISPUTE: reply.dispute,
        ReplyIntent.PAYMENT_PLAN_REQUEST: reply.plan_request,
        ReplyIntent.ALREADY_PAID: reply.payment_claim,
    }
    responder = responders.get(interpretation.intent)
    if responder is None:
        return ReplyResponse(outcome=_NOTHING_TO_DO[interpretation.intent])
    return responder()


_NOTHING_TO_DO = {
    ReplyIntent.OUT_OF_OFFICE: "noted: the contact is away",
    ReplyIntent.UNSUBSCRIBE: "put to a person at the account's next review: the contact asks "
    "to receive no more mail",
    ReplyIntent.OTHER: "recorded; nothing to act on",
}

FOR_A_PERSON: dict[ReplyIntent, str] = {
    ReplyIntent.UNSUBSCRIBE: "asks to receive no more mail",
    ReplyIntent.ALREADY_PAID: "says they have paid, and no payment matched yet",
    ReplyIntent.PAYMENT_PLAN_REQUEST: "asks to pay in instalments",
}
"""Replies a person answers: the collections loop escalates the account once for each, naming
what the customer asked."""


@dataclass(frozen=True)
class _Reply:
    records: AccountRecords
    interpretation: Interpretation
    message_id: str
    excerpt: str
    now: datetime

    @property
    def account_id(self) -> str:
        return self.records.account.account_id

    def promise(self) -> ReplyResponse:
        said = self.interpretation
        if said.promised_date is None:
            return ReplyResponse("a promise without a date; the cadence goes on")
        still_open = {i.number for i in open_invoices(self.records.invoices)}
        named = [n for n in said.invoice_numbers if n in still_open]
        if said.invoice_numbers and not named:
            return ReplyResponse("promise not recorded: the invoices it names are settled")
        promise = NewPromise(
            currency=said.currency,
            amount=said.amount,
            promised_date=said.promised_date,
            payment_method=said.payment_method,
            invoice_numbers=named,
        )
        case_id = case_id_for(PROMISE, self.account_id, self.message_id)
        try:
            case = promise_case(self.records, promise, case_id, self.now)
        except InvalidInput as refused:
            return ReplyResponse(f"promise not recorded: {refused.reason}")
        entry = recorded_entry(case, CaseSource.REPLY, ACTOR, self._rationale("promise to pay"))
        return ReplyResponse(f"promise {case.case_id} recorded", [case], [self._interpreted(entry)])

    def dispute(self) -> ReplyResponse:
        said = self.interpretation
        contested = _contested(self.records.invoices, said.invoice_numbers)
        if not contested:
            return ReplyResponse("a dispute, but nothing on the account to dispute")
        numbers = [invoice.number for invoice in contested]
        earlier = _open_dispute_covering(self.records.cases, numbers)
        if earlier is not None:
            return ReplyResponse(f"already disputed in case {earlier.case_id}")
        reason = said.dispute_reason.value if said.dispute_reason else "other"
        case = Case(
            account_id=self.account_id,
            case_id=case_id_for(DISPUTE, self.account_id, self.message_id),
            kind=CaseKind.DISPUTE,
            currency=self.records.account.currency,
            amount=sum((invoice.open_amount for invoice in contested), Decimal(0)),
            invoice_numbers=numbers,
            reason_code=reason,
            summary=self.excerpt,
            opened_at=self.now,
        )
        entry = self._entry(
            DISPUTE_OPENED,
            "open",
            case_id=case.case_id,
            reason_code=reason,
            invoice_numbers=numbers,
            amount=str(case.amount),
            currency=case.currency,
            named_by_customer=bool(said.invoice_numbers),
        )
        return ReplyResponse(f"dispute {case.case_id} opened ({reason})", [case], [entry])

    def plan_request(self) -> ReplyResponse:
        said = self.interpretation
        entry = self._entry(
            PLAN_REQUESTED,
            "waiting for a person to agree a plan",
            invoice_numbers=said.invoice_numbers,
            instalments=said.instalments,
            amount=_text(said.amount),
        )
        return ReplyResponse(
            "plan request put to a person at the account's next review", [], [entry]
        )

    def payment_claim(self) -> ReplyResponse:
        said = self.interpretation
        entry = self._entry(
            PAYMENT_CLAIMED,
            "waiting for the payment to arrive",
            invoice_numbers=said.invoice_numbers,
            amount=_text(said.amount),
            paid_on=said.paid_on,
            payment_method=said.payment_method.value if said.payment_method else None,
        )
        return ReplyResponse(
            "claim of payment put to a person at the account's next review", [], [entry]
        )

    def _entry(self, action: str, outcome: str, **inputs: Any) -> Entry:
        entry = Entry(
            chain=self.account_id,
            actor=ACTOR,
            action=action,
            inputs=inputs,
            rationale=self._rationale(_READ_AS[action]),
            outcome=outcome,
        )
        return self._interpreted(entry)

    def _interpreted(self, entry: Entry) -> Entry:
        """The event as one the agent took on reading a reply: the message, and the reader."""
        inputs = {"message_id": self.message_id, **entry.inputs}
        model = {"name": self.interpretation.interpreter}
        return entry.model_copy(update={"inputs": inputs, "model": model})

    def _rationale(self, what: str) -> str:
        signals = "; ".join(self.interpretation.signals) or "no cue recorded"
        return f"the customer's reply reads as a {what} ({signals})"


_READ_AS = {
    DISPUTE_OPENED: "dispute",
    PLAN_REQUESTED: "request for a payment plan",
    PAYMENT_CLAIMED: "claim to have paid",
}


def _contested(invoices: Sequence[Invoice], named: Sequence[str]) -> list[Invoice]:
    """The invoices a dispute covers: those named, else every open one."""
    if named:
        by_number = {invoice.number: invoice for invoice in invoices}
        return [
            by_number[n]
            for n in named
            if n in by_number and by_number[n].status is not InvoiceStatus.VOID
        ]
    return sorted(open_invoices(invoices), key=lambda invoice: invoice.number)


def _open_dispute_covering(cases: Sequence[Case], numbers: Sequence[str]) -> Case | None:
    wanted = set(numbers)
    disputes = (c for c in cases if c.kind is CaseKind.DISPUTE and c.status is CaseStatus.OPEN)
    return next((c for c in disputes if wanted <= set(c.invoice_numbers)), None)


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)
