"""Readable builders for domain objects in tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.ledger.models import AccountProfile, Contact, NewInvoice, NewPayment


def contact(contact_id: str = "ap", **overrides: Any) -> Contact:
    fields: dict[str, Any] = {
        "contact_id": contact_id,
        "name": "Dana Payables",
        "email": f"{contact_id}@customer.example",
        "role": "accounts_payable",
        "language": "en",
        "time_zone": "Europe/Berlin",
    }
    return Contact(**{**fields, **overrides})


def profile(name: str = "Acme GmbH", currency: str = "EUR", **overrides: Any) -> AccountProfile:
    fields: dict[str, Any] = {"name": name, "currency": currency, "contacts": [contact()]}
    return AccountProfile(**{**fields, **overrides})


def invoice(
    number: str,
    account_id: str = "ACME",
    amount: str = "1200.00",
    currency: str = "EUR",
    issued: date = date(2026, 2, 1),
    terms_days: int = 30,
    **overrides: Any,
) -> NewInvoice:
    fields: dict[str, Any] = {
        "account_id": account_id,
        "number": number,
        "issue_date": issued,
        "due_date": issued + timedelta(days=terms_days),
        "currency": currency,
        "amount": amount,
    }
    return NewInvoice(**{**fields, **overrides})


def payment(
    payment_id: str, amount: str, *allocations: tuple[str, str], **overrides: Any
) -> NewPayment:
    fields: dict[str, Any] = {
        "payment_id": payment_id,
        "received_on": date(2026, 3, 2),
        "currency": "EUR",
        "amount": amount,
        "method": "sepa",
        "allocations": [{"invoice_number": n, "amount": a} for n, a in allocations],
    }
    return NewPayment(**{**fields, **overrides})
