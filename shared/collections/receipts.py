"""Money received toward a case (a promise or a plan), judged from payments and their dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from shared.ledger.models import Allocation, AllocationSource, Case, Payment


def received_toward(
    case: Case,
    payments: Iterable[Payment],
    allocations: Iterable[Allocation],
    start: date,
    end: date,
) -> Decimal:
    """What arrived from `start` to `end` (both included) that counts toward the case.

    A case naming invoices counts the cash applied to them, plus cash not applied to anything
    yet: a payment still waiting to be matched is given the benefit of the doubt rather than
    calling a promise broken. A case naming no invoices counts every payment.
    """
    received = {p.payment_id: p for p in payments if start <= p.received_on <= end}
    if not case.invoice_numbers:
        return sum((p.amount for p in received.values()), Decimal(0))
    named = set(case.invoice_numbers)
    applied = sum(
        (
            a.amount
            for a in allocations
            if a.source is AllocationSource.PAYMENT
            and a.source_id in received
            and a.invoice_number in named
        ),
        Decimal(0),
    )
    return applied + sum((p.unapplied_amount for p in received.values()), Decimal(0))
