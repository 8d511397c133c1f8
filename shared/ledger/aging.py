"""Aging: open balances grouped by how far past due they are, the first thing a collector reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from shared.ledger.models import Invoice, InvoiceStatus

BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("current", 0),
    ("1-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", None),
)
"""Bucket names with the most days past due each holds; None means no upper bound."""


def bucket_for(days_past_due: int) -> str:
    for name, upper in BUCKETS:
        if upper is None or days_past_due <= upper:
            return name
    raise AssertionError("the last bucket is unbounded")


def open_invoices(invoices: Iterable[Invoice]) -> list[Invoice]:
    return [i for i in invoices if i.status is InvoiceStatus.OPEN and i.open_amount > 0]


def aging(invoices: Iterable[Invoice], on: date) -> dict[str, Decimal]:
    """Open amount per bucket as of `on`; every bucket present, zero when empty."""
    totals = {name: Decimal(0) for name, _ in BUCKETS}
    for invoice in open_invoices(invoices):
        totals[bucket_for(invoice.days_past_due(on))] += invoice.open_amount
    return totals


def still_owed_refusal(
    invoices: Iterable[Invoice], numbers: Sequence[str], amount: Decimal, currency: str
) -> str | None:
    """Why an action on the invoices `numbers` for `amount` no longer fits them (one is gone or
    closed, or what is open on them moved), or None when it still does."""
    by_number = {invoice.number: invoice for invoice in invoices}
    missing = [n for n in numbers if n not in by_number]
    if missing:
        return f"invoice(s) {', '.join(missing)} do not exist on the account"
    closed = [n for n in numbers if by_number[n].status is not InvoiceStatus.OPEN]
    if closed:
        return f"invoice(s) {', '.join(closed)} are no longer open"
    open_amount = sum((by_number[n].open_amount for n in numbers), Decimal(0))
    if open_amount != amount:
        return f"the invoices have {open_amount} {currency} open, the action was for {amount}"
    return None
