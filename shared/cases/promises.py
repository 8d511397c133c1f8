"""Promises to pay as cases: recorded from a reply, the API or the agent, then judged kept or
broken as payments arrive or do not.

Judging is the collections core's (`shared.collections.promises`); this stores its verdict on
the case, so a broken promise stays broken in the ledger and the audit trail says when and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from shared.audit.models import Actor, Entry
from shared.cases.book import CaseBook, CaseExists
from shared.cases.ids import PROMISE, new_case_id
from shared.cases.models import CaseChange, CaseSource, NewPromise
from shared.collections.promises import PromiseState, PromiseStatus, judge_promise
from shared.errors import InvalidInput
from shared.ledger.aging import open_invoices
from shared.ledger.models import Case, CaseKind, CaseStatus, Invoice
from shared.ledger.store import AccountRecords
from shared.policy.models import Policy

RECORDED = "promise.recorded"
KEPT = "promise.kept"
BROKEN = "promise.broken"


class PromiseBook:
    def __init__(self, book: CaseBook) -> None:
        self._book = book

    def record(
        self,
        account_id: str,
        promise: NewPromise,
        source: CaseSource,
        actor: Actor,
        case_id: str | None = None,
    ) -> Case:
        """Open the promise as a case, audited as `promise.recorded`, and put the account up for
        review; InvalidInput names the field when it cannot be a promise on this account.

        With a `case_id` (derived from what made the promise), recording it again returns the
        case recorded the first time.
        """
        records = self._book.records(account_id)
        now = self._book.now()
        if promise.promised_date < now.date():
            raise InvalidInput("promised_date", f"{promise.promised_date} is in the past")
        case = promise_case(records, promise, case_id or new_case_id(PROMISE), now)
        try:
            return self._book.open(case, [recorded_entry(case, source, actor)])
        except CaseExists as exists:
            return exists.stored

    def review(
        self, account_id: str, policy: Policy, records: AccountRecords | None = None
    ) -> list[CaseChange]:
        """Mark each open promise whose outcome is known KEPT or BROKEN, with its audit event.

        The decide loop calls this before building the account's state. A promise another
        writer moved meanwhile is left as that writer left it.
        """
        records = records or self._book.records(account_id)
        today = self._book.now().date()
        changes = []
        for verdict in judge_open_promises(records, today, policy):
            change = self._settle(verdict)
            if change is not None:
                changes.append(change)
        return changes

    def _settle(self, verdict: PromiseState) -> CaseChange | None:
        kept = verdict.status is PromiseStatus.KEPT
        status = CaseStatus.KEPT if kept else CaseStatus.BROKEN
        action = KEPT if kept else BROKEN
        case = verdict.case
        rationale = (
            f"{verdict.received} {case.currency} of {case.amount} arrived by {verdict.deadline} "
            f"(promised {verdict.promised_date}, effective {verdict.effective_date} for "
            f"{case.payment_method.value if case.payment_method else 'an unstated method'}, "
            "plus the grace days)"
        )
        entry = Entry(
            chain=case.account_id,
            actor=self._book.reviewer,
            action=action,
            inputs={
                "case_id": case.case_id,
                "promised_date": verdict.promised_date,
                "deadline": verdict.deadline,
                "amount": str(case.amount),
                "received": str(verdict.received),
                "invoice_numbers": case.invoice_numbers,
            },
            rationale=rationale,
            outcome=status.value,
        )
        return self._book.close(case, status, action, entry)


def promise_case(
    records: AccountRecords, promise: NewPromise, case_id: str, opened_at: datetime
) -> Case:
    """The case a promise opens on this account; InvalidInput names what does not fit it."""
    account = records.account
    currency = promise.currency or account.currency
    if currency != account.currency:
        raise InvalidInput(
            "currency", f"account {account.account_id} is billed in {account.currency}"
        )
    covered = _covered(open_invoices(records.invoices), promise.invoice_numbers, opened_at.date())
    open_amount = sum((invoice.open_amount for invoice in covered), Decimal(0))
    amount = min(promise.amount, open_amount) if promise.amount else open_amount
    if amount <= 0:
        raise InvalidInput("amount", "nothing is open on the account to promise")
    return Case(
        account_id=account.account_id,
        case_id=case_id,
        kind=CaseKind.PROMISE_TO_PAY,
        currency=currency,
        amount=amount,
        invoice_numbers=promise.invoice_numbers,
        promised_date=promise.promised_date,
        payment_method=promise.payment_method,
        summary=promise.note or "",
        opened_at=opened_at,
    )


def recorded_entry(case: Case, source: CaseSource, actor: Actor, rationale: str = "") -> Entry:
    return Entry(
        chain=case.account_id,
        actor=actor,
        action=RECORDED,
        inputs={
            "case_id": case.case_id,
            "source": source.value,
            "amount": str(case.amount),
            "currency": case.currency,
            "promised_date": case.promised_date,
            "payment_method": case.payment_method.value if case.payment_method else None,
            "invoice_numbers": case.invoice_numbers,
        },
        rationale=rationale
        or f"promise to pay {case.amount} {case.currency} by "
        f"{case.promised_date}, stated through the {source.value}",
        outcome="open",
    )


def judge_open_promises(records: AccountRecords, today: date, policy: Policy) -> list[PromiseState]:
    """Open promises whose outcome is known today: kept, or broken past their deadline."""
    still_open = {invoice.number for invoice in open_invoices(records.invoices)}
    verdicts = []
    for case in records.cases:
        if case.kind is not CaseKind.PROMISE_TO_PAY or case.status is not CaseStatus.OPEN:
            continue
        verdict = judge_promise(
            case,
            records.payments,
            records.allocations,
            still_open,
            today,
            policy.collections.promises,
        )
        if verdict is not None and verdict.status is not PromiseStatus.PENDING:
            verdicts.append(verdict)
    return verdicts


def _covered(still_open: Sequence[Invoice], numbers: Sequence[str], today: date) -> list[Invoice]:
    """The open invoices a promise covers: those it names, or everything overdue (else open)."""
    by_number = {invoice.number: invoice for invoice in still_open}
    for index, number in enumerate(numbers):
        if number not in by_number:
            raise InvalidInput(f"invoice_numbers[{index}]", f"invoice {number} is not open")
    if numbers:
        return [by_number[number] for number in numbers]
    overdue = [invoice for invoice in still_open if invoice.due_date < today]
    return overdue or list(still_open)
