"""The demo's figures, read back from stored state: aging, DSO, cash collected, audit health.

Nothing here trusts what the simulation believes it did; every number comes from the ledger
and audit tables, so the summary shows what autoar actually recorded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from infra.local.demo.book import REPORTING_RATES
from shared.audit.models import AuditEvent
from shared.ledger.aging import BUCKETS, aging
from shared.ledger.store import AccountRecords, LedgerStore

DSO_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Snapshot:
    """The whole book on one day, in EUR at the demo's fixed rates."""

    on: date
    aging: dict[str, Decimal]
    open_receivables: Decimal
    sales_in_window: Decimal

    @property
    def dso(self) -> Decimal | None:
        """Days sales outstanding: open receivables over the window's sales, times its days."""
        if not self.sales_in_window:
            return None
        return (self.open_receivables / self.sales_in_window * DSO_WINDOW_DAYS).quantize(
            Decimal("0.1")
        )


@dataclass
class Collections:
    by_currency: dict[str, Decimal] = field(default_factory=dict)
    by_week: dict[date, Decimal] = field(default_factory=dict)
    payments: int = 0

    @property
    def total_eur(self) -> Decimal:
        return sum((in_eur(a, c) for c, a in self.by_currency.items()), Decimal(0)).quantize(
            Decimal("0.01")
        )


def in_eur(amount: Decimal, currency: str) -> Decimal:
    return amount * REPORTING_RATES[currency]


def read_book(store: LedgerStore, account_ids: Iterable[str]) -> list[AccountRecords]:
    return [store.records(account_id) for account_id in account_ids]


def snapshot(books: list[AccountRecords], on: date) -> Snapshot:
    buckets = {name: Decimal(0) for name, _ in BUCKETS}
    sales = Decimal(0)
    window_start = on - timedelta(days=DSO_WINDOW_DAYS)
    for records in books:
        currency = records.account.currency
        for name, amount in aging(records.invoices, on).items():
            buckets[name] += in_eur(amount, currency)
        sales += sum(
            (
                in_eur(i.amount, currency)
                for i in records.invoices
                if window_start < i.issue_date <= on
            ),
            Decimal(0),
        )
    cents = Decimal("0.01")
    rounded = {name: amount.quantize(cents) for name, amount in buckets.items()}
    return Snapshot(on, rounded, sum(rounded.values(), Decimal(0)), sales.quantize(cents))


def collections(books: list[AccountRecords], start: date, end: date) -> Collections:
    """Payments received from `start` to `end`, both included, by currency and by week."""
    collected = Collections()
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    by_week: dict[date, Decimal] = defaultdict(Decimal)
    for records in books:
        for payment in records.payments:
            if start <= payment.received_on <= end:
                by_currency[payment.currency] += payment.amount
                week = payment.received_on - timedelta(days=payment.received_on.weekday())
                by_week[week] += in_eur(payment.amount, payment.currency)
                collected.payments += 1
    collected.by_currency = dict(sorted(by_currency.items()))
    collected.by_week = {w: a.quantize(Decimal("0.01")) for w, a in sorted(by_week.items())}
    return collected


@dataclass(frozen=True)
class AgentWork:
    """What the agent did, counted from the accounts' audit trails."""

    decisions: int
    emails: Counter[str]
    """Emails sent, by template (courtesy, friendly, firm, final_notice, statement, ...)."""
    replies_understood: Counter[str]
    """Replies read as something the agent acts on, by intent."""
    promises: Counter[str]
    """Promise cases: recorded, kept, broken."""
    plans_agreed: int
    escalations: int
    agency_handovers: int


def agent_work(trail: Iterable[AuditEvent]) -> AgentWork:
    decisions = plans = escalations = agency = 0
    emails: Counter[str] = Counter()
    understood: Counter[str] = Counter()
    promises: Counter[str] = Counter()
    for event in trail:
        action = event.action
        if action == "decision.made":
            decisions += 1
        elif action == "email.sent":
            emails[str(event.inputs["template"])] += 1
        elif action == "mail.received" and event.inputs.get("intent") not in {None, "other"}:
            understood[str(event.inputs["intent"])] += 1
        elif action.startswith("promise."):
            promises[action.removeprefix("promise.")] += 1
        elif action == "payment_plan.agreed":
            plans += 1
        elif action == "account.escalated":
            escalations += 1
        elif action == "agency_escalation.performed":
            agency += 1
    return AgentWork(decisions, emails, understood, promises, plans, escalations, agency)
