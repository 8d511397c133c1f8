"""The demo company's customers, their invoices, and how each customer behaves.

Everything is drawn from one seeded random generator, so a demo run is repeatable: the same
customers pay, dispute, promise and ignore on the same simulated days every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from shared.money import to_minor_units


class Behaviour(StrEnum):
    ON_TIME = "pays on time"
    LATE = "pays late"
    BATCH_REMITTER = "pays several invoices at once, with remittance"
    SHORT_PAYER = "short-pays"
    DISPUTER = "disputes"
    PROMISER = "replies with a promise, then pays"
    IGNORER = "ignores mail and does not pay"


MIX: tuple[tuple[Behaviour, int], ...] = (
    (Behaviour.ON_TIME, 12),
    (Behaviour.LATE, 8),
    (Behaviour.BATCH_REMITTER, 6),
    (Behaviour.SHORT_PAYER, 4),
    (Behaviour.DISPUTER, 4),
    (Behaviour.PROMISER, 5),
    (Behaviour.IGNORER, 3),
)
"""How many of each kind of customer a 42-account book has; smaller books keep the shares."""

CURRENCIES = (
    ("EUR", "Europe/Berlin", "de"),
    ("USD", "America/Chicago", "en"),
    ("GBP", "Europe/London", "en"),
    ("CHF", "Europe/Zurich", "de"),
)

REPORTING_RATES = {
    "EUR": Decimal("1"),
    "USD": Decimal("0.92"),
    "GBP": Decimal("1.17"),
    "CHF": Decimal("1.05"),
}
"""Fixed rates into EUR used only to add the demo's currencies up in its summary and report."""

_FIRST = (
    "Alder",
    "Birch",
    "Cedar",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Linden",
    "Maple",
    "Nordic",
    "Orchid",
    "Pioneer",
    "Quarry",
    "Riverside",
    "Summit",
    "Tundra",
    "Umber",
    "Vantage",
    "Willow",
    "Yarrow",
    "Zephyr",
)
_SECOND = (
    "Logistics",
    "Foods",
    "Engineering",
    "Retail",
    "Health",
    "Textiles",
    "Labs",
    "Builders",
    "Media",
    "Energy",
    "Outfitters",
    "Pharma",
)
_SUFFIX = {"EUR": "GmbH", "USD": "Inc.", "GBP": "Ltd", "CHF": "AG"}


@dataclass
class PlannedInvoice:
    number: str
    issue_date: date
    due_date: date
    amount: Decimal
    pays_on: date | None
    pays_amount: Decimal
    by_bank_file: bool


@dataclass
class Customer:
    account_id: str
    name: str
    currency: str
    time_zone: str
    language: str
    terms_days: int
    behaviour: Behaviour
    invoices: list[PlannedInvoice] = field(default_factory=list)

    @property
    def email(self) -> str:
        return f"ap@{self.account_id.lower()}.customer.example"


@dataclass
class Reply:
    account_id: str
    sent_on: date
    subject: str
    body: str


@dataclass
class Book:
    start: date
    customers: list[Customer]
    replies: list[Reply]
    rng: random.Random
    seed: int

    def invoices(self) -> list[tuple[Customer, PlannedInvoice]]:
        return [(c, i) for c in self.customers for i in c.invoices]

    def new_invoices(self, on: date) -> list[tuple[Customer, PlannedInvoice]]:
        """Invoices the company raises on `on` (Mondays during the demo)."""
        if on.weekday() != 0 or on <= self.start:
            return []
        raised = []
        for customer in self.customers:
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                invoice = _plan_invoice(self.rng, customer, on, len(customer.invoices))
                customer.invoices.append(invoice)
                self.replies.extend(_replies_for(customer, invoice))
                raised.append((customer, invoice))
        return raised


def build_book(start: date, accounts: int, invoices_per_account: int, seed: int) -> Book:
    rng = random.Random(seed)
    behaviours = _behaviours(accounts)
    customers = [_customer(rng, number, behaviour) for number, behaviour in enumerate(behaviours)]
    replies: list[Reply] = []
    for customer in customers:
        for n in range(invoices_per_account):
            issued = start - timedelta(days=rng.randint(1, 80))
            invoice = _plan_invoice(rng, customer, issued, n)
            customer.invoices.append(invoice)
            replies.extend(_replies_for(customer, invoice))
    return Book(start, customers, replies, rng, seed)


def _behaviours(accounts: int) -> list[Behaviour]:
    total = sum(count for _, count in MIX)
    chosen = [b for b, count in MIX for _ in range(max(1, round(count * accounts / total)))]
    return chosen[:accounts] + [Behaviour.ON_TIME] * max(0, accounts - len(chosen))


def _customer(rng: random.Random, number: int, behaviour: Behaviour) -> Customer:
    currency, time_zone, language = CURRENCIES[number % len(CURRENCIES)]
    name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {_SUFFIX[currency]}"
    return Customer(
        account_id=f"C{1001 + number}",
        name=name,
        currency=currency,
        time_zone=time_zone,
        language=language,
        terms_days=rng.choice((14, 30, 30, 30, 45, 60)),
        behaviour=behaviour,
    )


def _plan_invoice(rng: random.Random, customer: Customer, issued: date, n: int) -> PlannedInvoice:
    due = issued + timedelta(days=customer.terms_days)
    amount = to_minor_units(Decimal(rng.randint(20_000, 1_500_000)) / 100, customer.currency)
    pays_on, pays_amount, by_bank = _payment_plan(rng, customer.behaviour, due, amount)
    return PlannedInvoice(
        number=f"{customer.account_id}-{issued:%y%m%d}-{n:02d}",
        issue_date=issued,
        due_date=due,
        amount=amount,
        pays_on=pays_on,
        pays_amount=pays_amount,
        by_bank_file=by_bank,
    )


def _payment_plan(
    rng: random.Random, behaviour: Behaviour, due: date, amount: Decimal
) -> tuple[date | None, Decimal, bool]:
    """When the customer will pay this invoice, how much, and whether through a bank file."""
    match behaviour:
        case Behaviour.ON_TIME:
            return due + timedelta(days=rng.randint(-5, 1)), amount, False
        case Behaviour.LATE:
            return due + timedelta(days=rng.randint(12, 45)), amount, False
        case Behaviour.BATCH_REMITTER:
            friday = due + timedelta(days=(4 - due.weekday()) % 7 + 7)
            return friday, amount, True
        case Behaviour.SHORT_PAYER:
            short = (amount * Decimal("0.97")).quantize(amount)
            return due + timedelta(days=rng.randint(0, 10)), short, True
        case Behaviour.DISPUTER:
            disputed = rng.random() < 0.4
            later = due + timedelta(days=rng.randint(5, 20))
            return (None, Decimal(0), False) if disputed else (later, amount, False)
        case Behaviour.PROMISER:
            return due + timedelta(days=rng.randint(20, 30)), amount, False
        case Behaviour.IGNORER:
            return None, Decimal(0), False
    raise AssertionError(behaviour)


def _replies_for(customer: Customer, invoice: PlannedInvoice) -> list[Reply]:
    if customer.behaviour is Behaviour.DISPUTER and invoice.pays_on is None:
        body = (
            f"Hello,\n\nwe dispute invoice {invoice.number}: part of the delivery arrived "
            "damaged and we have not received a credit note.\n\nRegards,\nAccounts payable"
        )
        return [
            Reply(
                customer.account_id,
                invoice.due_date + timedelta(days=3),
                f"Dispute: invoice {invoice.number}",
                body,
            )
        ]
    if customer.behaviour is Behaviour.PROMISER and invoice.pays_on is not None:
        body = (
            f"Hi,\n\nsorry for the delay on {invoice.number}. We will pay it by "
            f"{invoice.pays_on:%d %B %Y}.\n\nThanks,\nAccounts payable"
        )
        return [
            Reply(
                customer.account_id,
                invoice.due_date + timedelta(days=8),
                f"Re: payment of {invoice.number}",
                body,
            )
        ]
    return []
