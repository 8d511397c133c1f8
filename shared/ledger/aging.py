"""Aging: open balances grouped by how far past due they are, the first thing a collector reads."""

from __future__ import annotations

from collections.abc import Iterable
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
