"""Readable builders for collections tests: stored ledger records around one instant, NOW."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from shared.ledger.models import (
    Account,
    Allocation,
    AllocationSource,
    Case,
    CaseKind,
    CaseStatus,
    Contact,
    Instalment,
    Invoice,
    Payment,
    Touch,
)
from shared.ledger.store import AccountRecords
from shared.policy.models import Policy

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""A Monday: 11:00 in Berlin, 05:00 in New York."""
TODAY = NOW.date()
EXAMPLE_POLICY = Path(__file__).resolve().parents[1] / "shared" / "policy" / "example-policy.yaml"


def policy_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE_POLICY.read_text())
    return document


def example_policy(**collections: Any) -> Policy:
    """The shipped example policy, with collections fields replaced as given."""
    document = policy_document()
    document["collections"].update(collections)
    return Policy.model_validate(document)


def contact(contact_id: str = "ap", **overrides: Any) -> Contact:
    fields: dict[str, Any] = {
        "contact_id": contact_id,
        "name": "Dana Payables",
        "email": f"{contact_id}@customer.example",
        "role": "accounts_payable",
        "time_zone": "Europe/Berlin",
    }
    return Contact(**{**fields, **overrides})


def account(account_id: str = "ACME", **overrides: Any) -> Account:
    fields: dict[str, Any] = {
        "account_id": account_id,
        "name": "Acme GmbH",
        "currency": "EUR",
        "contacts": [contact()],
        "created_at": NOW - timedelta(days=400),
        "updated_at": NOW - timedelta(days=400),
    }
    return Account(**{**fields, **overrides})


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def invoice(
    number: str,
    days_past_due: int,
    amount: str = "1200.00",
    open_amount: str | None = None,
    account_id: str = "ACME",
    currency: str = "EUR",
) -> Invoice:
    due = days_ago(days_past_due)
    return Invoice(
        account_id=account_id,
        number=number,
        issue_date=due - timedelta(days=30),
        due_date=due,
        currency=currency,
        amount=Decimal(amount),
        open_amount=Decimal(open_amount or amount),
        created_at=datetime(due.year, due.month, due.day, tzinfo=UTC) - timedelta(days=30),
    )


def touch(
    sent_at: datetime,
    steps: dict[str, int] | None = None,
    template: str = "friendly",
    numbers: Iterable[str] = (),
    account_id: str = "ACME",
) -> Touch:
    """An email sent; `steps` maps each invoice to the days_from_due of the step it was at."""
    return Touch(
        account_id=account_id,
        touch_id=f"T-{sent_at:%Y%m%d%H%M%S}-{template}",
        sent_at=sent_at,
        contact_id="ap",
        template=template,
        invoice_numbers=sorted({*numbers, *(steps or {})}),
        cadence_steps=steps or {},
    )


def case(
    case_id: str,
    kind: CaseKind,
    amount: str = "1200.00",
    numbers: Iterable[str] = (),
    opened_at: datetime = NOW - timedelta(days=10),
    status: CaseStatus = CaseStatus.OPEN,
    **overrides: Any,
) -> Case:
    fields: dict[str, Any] = {
        "account_id": "ACME",
        "case_id": case_id,
        "kind": kind,
        "status": status,
        "currency": "EUR",
        "amount": Decimal(amount),
        "invoice_numbers": list(numbers),
        "opened_at": opened_at,
    }
    return Case(**{**fields, **overrides})


def promise(
    case_id: str, promised: date, amount: str = "1200.00", numbers: Iterable[str] = (), **kw: Any
) -> Case:
    return case(case_id, CaseKind.PROMISE_TO_PAY, amount, numbers, promised_date=promised, **kw)


def plan(
    case_id: str, instalments: list[tuple[date, str]], numbers: Iterable[str] = (), **kw: Any
) -> Case:
    total = sum((Decimal(amount) for _, amount in instalments), Decimal(0))
    schedule = [Instalment(due_date=due, amount=Decimal(amount)) for due, amount in instalments]
    return case(case_id, CaseKind.PAYMENT_PLAN, str(total), numbers, instalments=schedule, **kw)


def payment(
    payment_id: str, amount: str, received_on: date, unapplied: str | None = None
) -> Payment:
    return Payment(
        account_id="ACME",
        payment_id=payment_id,
        received_on=received_on,
        currency="EUR",
        amount=Decimal(amount),
        method="sepa",
        unapplied_amount=Decimal(unapplied if unapplied is not None else amount),
        created_at=datetime(received_on.year, received_on.month, received_on.day, tzinfo=UTC),
    )


def allocation(payment_id: str, number: str, amount: str, applied_on: date) -> Allocation:
    return Allocation(
        account_id="ACME",
        source=AllocationSource.PAYMENT,
        source_id=payment_id,
        invoice_number=number,
        currency="EUR",
        amount=Decimal(amount),
        applied_at=datetime(applied_on.year, applied_on.month, applied_on.day, tzinfo=UTC),
    )


def records(
    owner: Account | None = None,
    invoices: Iterable[Invoice] = (),
    touches: Iterable[Touch] = (),
    cases: Iterable[Case] = (),
    payments: Iterable[Payment] = (),
    allocations: Iterable[Allocation] = (),
) -> AccountRecords:
    return AccountRecords(
        account=owner or account(),
        invoices=list(invoices),
        touches=list(touches),
        cases=list(cases),
        payments=list(payments),
        allocations=list(allocations),
    )
