"""Runs the demo: seeds the book through the API, then lives through it one simulated day at a time.

Each day at 09:00 UTC the company's ERP posts new invoices and the payments it took, customers'
banks deliver statements to the inbox bucket, customers reply by email and approvers answer
their mail. Then the clock walks on through the day to each hour at which a review falls due,
where the hourly sweep takes it up as in AWS, so each customer is written to inside their own
time zone's send window; hours when nothing is due are skipped, as they would change nothing.
At the end of the day customers read what they were sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from infra.local.demo.approver import Approvers
from infra.local.demo.bankfiles import Credit, camt053_statement
from infra.local.demo.book import Behaviour, Book, Customer, PlannedInvoice
from infra.local.demo.customers import CustomerInboxes
from infra.local.demo.figures import Snapshot, read_book, snapshot
from infra.local.demo.integrator import ErpClient, send_reply
from infra.local.demo.mailbox import Mailbox
from infra.local.runtime import SENDER, LocalRuntime
from shared.approvals.store import ApprovalStore
from shared.clock import SimulatedClock
from shared.collections.store import CollectionsStore

MAX_BATCH = 500
MORNING = time(9)
HOURS_A_DAY = 24
Progress = Callable[[int, int, dict[str, int]], None]


@dataclass
class Activity:
    """What the simulated world did, to show as the demo runs; the summary reads stored state."""

    invoices_posted: int = 0
    payments_posted: int = 0
    bank_files_dropped: int = 0
    replies_sent: int = 0
    approvals_decided: int = 0

    def counters(self) -> dict[str, int]:
        return {
            "invoices": self.invoices_posted,
            "payments": self.payments_posted,
            "bank files": self.bank_files_dropped,
            "replies": self.replies_sent,
            "approvals": self.approvals_decided,
        }


@dataclass
class Simulation:
    runtime: LocalRuntime
    clock: SimulatedClock
    book: Book
    activity: Activity = field(default_factory=Activity)
    snapshots: list[Snapshot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.erp = ErpClient(self.runtime.api_url)
        outbox, flush = self.runtime.folders.outbox, self.runtime.outbox.flush
        self.approvers = Approvers(self.book.rng, Mailbox(outbox, flush))
        self.customers = CustomerInboxes(self.book, self.book.seed, Mailbox(outbox, flush))
        self._write_offs_asked: set[str] = set()
        self._answered: set[tuple[str, int]] = set()

    def seed(self) -> None:
        """The book as it stands on the first morning: customers, open and recently paid items."""
        self._move_to(self.book.start)
        for customer in self.book.customers:
            self.erp.post("/accounts", _account(customer))
        self._post_invoices(self.book.invoices())
        for customer, invoice in self.book.invoices():
            if invoice.pays_on is not None and invoice.pays_on < self.book.start:
                self._post_payment(customer, [invoice], invoice.pays_on)
        self.runtime.settle()
        self.snapshots.append(self._snapshot())
        self.activity = Activity()

    def run(self, days: int, progress: Progress) -> None:
        for day_number in range(1, days + 1):
            day = self.book.start + timedelta(days=day_number)
            self._live(day)
            if day.weekday() == 0 or day_number == days:
                self.snapshots.append(self._snapshot())
            progress(day_number, days, self.activity.counters())

    def _live(self, day: date) -> None:
        self._move_to(day)
        self.runtime.scheduler.tick(self.clock.now())
        self._post_invoices(self.book.new_invoices(day))
        by_bank: dict[str, list[Credit]] = defaultdict(list)
        for customer, paid in self._paying_on(day):
            if paid[0].by_bank_file:
                by_bank[customer.currency].append(_credit(customer, paid))
            else:
                self._post_payment(customer, paid, day)
        for sequence, (currency, credits) in enumerate(sorted(by_bank.items())):
            statement = camt053_statement(currency, day, credits, sequence)
            path = self.runtime.folders.bank_drop / f"camt053-{day:%Y%m%d}-{currency}.xml"
            path.write_bytes(statement)
            self.activity.bank_files_dropped += 1
        self._send_replies(day)
        self._ask_for_write_offs(day)
        self.runtime.settle()
        self._answer_approvals()
        self._through_the_day(self.clock.now() + timedelta(hours=HOURS_A_DAY - 1))
        self.customers.read(day)

    def _through_the_day(self, last_hour: datetime) -> None:
        """Move to each hour up to `last_hour` at which a review is due, and let the runtime
        work it; at most one stop an hour."""
        services = self.runtime.services
        assert services is not None
        reviews = CollectionsStore(
            services.dynamodb, services.settings.ledger_table, services.settings.review_shards
        )
        while True:
            due = [
                next(reviews.due(shard, last_hour), None) for shard in range(reviews.review_shards)
            ]
            earliest = min((d.review_at for d in due if d is not None), default=None)
            if earliest is None:
                return
            hour = max(_on_the_hour(earliest), self.clock.now() + timedelta(hours=1))
            if hour > last_hour:
                return
            self.clock.set(hour)
            self.runtime.settle()

    def _answer_approvals(self) -> None:
        """The approvers read the day's approval emails (the finance team's write-offs and
        what the agent asked for) and decide each on its page."""
        services = self.runtime.services
        assert services is not None
        pending = ApprovalStore(services.dynamodb, services.settings.ledger_table)
        asks = {(a.approval_id, a.step) for a in pending.pending()} - self._answered
        if not asks:
            return
        decided = self.approvers.answer(len(asks))
        self._answered |= asks
        self.activity.approvals_decided += sum(1 for d in decided if d.status < 400)
        self.runtime.settle()

    def _ask_for_write_offs(self, day: date) -> None:
        """On Fridays the finance team asks to write off what customers who never answer owe
        past 60 days; the policy sends those above its threshold to approvers."""
        if day.weekday() != 4:
            return
        for customer in self.book.customers:
            if customer.behaviour is not Behaviour.IGNORER:
                continue
            for invoice in customer.invoices:
                stale = (day - invoice.due_date).days > 60
                if stale and invoice.number not in self._write_offs_asked:
                    self._write_offs_asked.add(invoice.number)
                    self.erp.post(
                        f"/accounts/{customer.account_id}/write-offs",
                        {
                            "invoice_number": invoice.number,
                            "amount": str(invoice.amount),
                            "reason": "No payment and no answer to any message for 60 days",
                        },
                    )

    def _paying_on(self, day: date) -> list[tuple[Customer, list[PlannedInvoice]]]:
        """Each customer's invoices paid on `day`, grouped as the customer pays them."""
        paying = []
        for customer in self.book.customers:
            due = [i for i in customer.invoices if i.pays_on == day and i.issue_date <= day]
            if not due:
                continue
            if customer.behaviour is Behaviour.BATCH_REMITTER:
                paying.append((customer, due))
            else:
                paying.extend((customer, [invoice]) for invoice in due)
        return paying

    def _send_replies(self, day: date) -> None:
        assert self.runtime.smtp is not None
        for reply in (r for r in self.book.replies if r.sent_on == day):
            customer = next(c for c in self.book.customers if c.account_id == reply.account_id)
            send_reply(
                self.runtime.smtp.host,
                self.runtime.smtp.port,
                customer.email,
                SENDER,
                reply.subject,
                reply.body,
                self.clock.now(),
            )
            self.activity.replies_sent += 1

    def _post_invoices(self, invoices: list[tuple[Customer, PlannedInvoice]]) -> None:
        bodies = [_invoice(customer, invoice) for customer, invoice in invoices]
        for start in range(0, len(bodies), MAX_BATCH):
            self.erp.post("/invoices/batch", {"invoices": bodies[start : start + MAX_BATCH]})
        self.activity.invoices_posted += len(bodies)

    def _post_payment(self, customer: Customer, paid: list[PlannedInvoice], on: date) -> None:
        body = {
            "payment_id": f"PAY-{paid[0].number}",
            "received_on": on.isoformat(),
            "currency": customer.currency,
            "amount": str(sum(i.pays_amount for i in paid)),
            "method": "card" if customer.currency == "USD" else "sepa",
            "payer_name": customer.name,
            "allocations": [
                {"invoice_number": i.number, "amount": str(i.pays_amount)} for i in paid
            ],
        }
        self.erp.post(f"/accounts/{customer.account_id}/payments", body)
        self.activity.payments_posted += 1

    def _snapshot(self) -> Snapshot:
        assert self.runtime.services is not None
        store = self.runtime.services.ledger.store
        books = read_book(store, [c.account_id for c in self.book.customers])
        return snapshot(books, self.clock.now().date())

    def _move_to(self, day: date) -> None:
        self.clock.set(datetime.combine(day, MORNING, tzinfo=UTC))


def _on_the_hour(instant: datetime) -> datetime:
    """The first full hour at or after `instant`: when an hourly sweep next runs."""
    hour = instant.replace(minute=0, second=0, microsecond=0)
    return hour if hour == instant else hour + timedelta(hours=1)


def _account(customer: Customer) -> dict[str, Any]:
    return {
        "account_id": customer.account_id,
        "name": customer.name,
        "currency": customer.currency,
        "payment_terms_days": customer.terms_days,
        "contacts": [
            {
                "contact_id": "ap",
                "name": "Accounts payable",
                "email": customer.email,
                "role": "accounts_payable",
                "language": customer.language,
                "time_zone": customer.time_zone,
            }
        ],
    }


def _invoice(customer: Customer, invoice: PlannedInvoice) -> dict[str, Any]:
    return {
        "account_id": customer.account_id,
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": customer.currency,
        "amount": str(invoice.amount),
        "po_number": f"PO-{invoice.number[-9:]}",
    }


def _credit(customer: Customer, paid: list[PlannedInvoice]) -> Credit:
    return Credit(
        amount=sum((i.pays_amount for i in paid), Decimal(0)),
        debtor=customer.name,
        end_to_end_id=f"E2E-{paid[0].number}",
        remittance="Invoices " + ", ".join(i.number for i in paid),
    )
