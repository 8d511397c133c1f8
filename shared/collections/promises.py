"""Promises to pay: when one is due once the money had time to arrive, and whether it was kept.

A broken promise is not only recorded: it moves the invoices it covered one step up the
reminder ladder (see `state`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from shared.collections.policy import Promises
from shared.collections.receipts import received_toward
from shared.ledger.models import Allocation, Case, CaseKind, CaseStatus, Payment, PaymentMethod


class PromiseStatus(StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True)
class PromiseState:
    case: Case
    promised_date: date
    effective_date: date
    """The promised date pushed back by the time the payment method takes to arrive."""
    deadline: date
    """The last day the payment may arrive: the effective date plus the grace days."""
    received: Decimal
    status: PromiseStatus

    @property
    def broken_on(self) -> date:
        """The first day a promise not kept by then counts as broken."""
        return self.deadline + timedelta(days=1)

    @property
    def invoice_numbers(self) -> list[str]:
        return self.case.invoice_numbers


def effective_date(promised: date, method: PaymentMethod | None, rules: Promises) -> date:
    return promised + timedelta(days=rules.clearing_days_for(method))


def deadline(promised: date, method: PaymentMethod | None, rules: Promises) -> date:
    return effective_date(promised, method, rules) + timedelta(days=rules.grace_days)


def judge_promise(
    case: Case,
    payments: Sequence[Payment],
    allocations: Sequence[Allocation],
    open_invoices: Collection[str],
    today: date,
    rules: Promises,
) -> PromiseState | None:
    """Where a promise to pay stands today; None for a case that is not a live or past promise.

    A promise is kept once what arrived toward it covers the amount, or once every invoice it
    names is settled (by credit, say); broken when its deadline passed without that; pending
    until then. A status a person recorded (kept, broken) stands.
    """
    if case.kind is not CaseKind.PROMISE_TO_PAY or case.status not in _JUDGED:
        return None
    promised = case.promised_date or case.opened_at.date()
    last_day = deadline(promised, case.payment_method, rules)
    received = received_toward(case, payments, allocations, case.opened_at.date(), last_day)
    return PromiseState(
        case=case,
        promised_date=promised,
        effective_date=effective_date(promised, case.payment_method, rules),
        deadline=last_day,
        received=received,
        status=_status(case, received, open_invoices, today, last_day),
    )


_JUDGED = {CaseStatus.OPEN, CaseStatus.KEPT, CaseStatus.BROKEN}


def _status(
    case: Case, received: Decimal, open_invoices: Collection[str], today: date, last_day: date
) -> PromiseStatus:
    if case.status is CaseStatus.KEPT:
        return PromiseStatus.KEPT
    if case.status is CaseStatus.BROKEN:
        return PromiseStatus.BROKEN
    settled = bool(case.invoice_numbers) and not any(
        number in open_invoices for number in case.invoice_numbers
    )
    if received >= case.amount or settled:
        return PromiseStatus.KEPT
    return PromiseStatus.BROKEN if today > last_day else PromiseStatus.PENDING
