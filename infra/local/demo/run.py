"""`autoar demo`: start the local runtime, live through simulated weeks, report what happened."""

from __future__ import annotations

import shutil
import sys
import time as wallclock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from infra.local.demo.book import build_book
from infra.local.demo.figures import (
    AgentWork,
    Collections,
    Snapshot,
    agent_work,
    collections,
    in_eur,
    read_book,
)
from infra.local.demo.report import render
from infra.local.demo.simulation import Progress, Simulation
from infra.local.runtime import LocalRuntime, running
from shared.audit.log import VerificationReport
from shared.audit.models import SYSTEM_CHAIN
from shared.clock import SimulatedClock
from shared.mail.store import MailStore
from shared.services import Services

DEMO_START = date(2026, 1, 5)


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path
    days: int = 60
    accounts: int = 42
    invoices_per_account: int = 8
    seed: int = 7


@dataclass(frozen=True)
class DemoResult:
    """The demo's outcome as stored: what the summary and report show."""

    accounts: list[str]
    start: date
    end: date
    invoices: int
    snapshots: list[Snapshot]
    cash: Collections
    replies: int
    replies_tied: int
    work: AgentWork
    bank_files: int
    bank_entries: int
    approvals: Counter[str]
    approval_kinds: Counter[str]
    written_off_eur: Decimal
    audit: VerificationReport
    report_path: Path
    seconds: float

    @property
    def dso_start(self) -> Decimal | None:
        return self.snapshots[0].dso

    @property
    def dso_end(self) -> Decimal | None:
        return self.snapshots[-1].dso

    def summary(self) -> list[tuple[str, str]]:
        cash = ", ".join(
            f"{amount:,} {currency}" for currency, amount in self.cash.by_currency.items()
        )
        return [
            ("Simulated period", f"{self.start:%d %b %Y} to {self.end:%d %b %Y}"),
            ("Accounts", str(len(self.accounts))),
            ("Invoices on the ledger", str(self.invoices)),
            ("Cash collected", f"{self.cash.total_eur:,} EUR equivalent ({cash or 'none'})"),
            ("Payments recorded", str(self.cash.payments)),
            ("Collections decisions", f"{self.work.decisions}, each audited with its candidates"),
            ("Emails to customers", _counted(self.work.emails)),
            (
                "Customer replies received",
                f"{self.replies}, {self.replies_tied} tied to their account, "
                f"{sum(self.work.replies_understood.values())} acted on "
                f"({_listed(self.work.replies_understood)})",
            ),
            ("Promises to pay", _promises(self.work.promises)),
            ("Payment plans agreed", str(self.work.plans_agreed)),
            (
                "Put to a person",
                f"{_count(self.work.escalations, 'escalation')}; "
                f"{_count(self.work.agency_handovers, 'account')} handed to the collection "
                "agency after approval",
            ),
            (
                "Bank files received",
                f"{self.bank_files} files with {self.bank_entries} entries, recorded and "
                "audited; matching them to invoices is not automated yet",
            ),
            ("Approvals", _approvals(self.approvals, self.approval_kinds)),
            ("Written off after approval", f"{self.written_off_eur:,} EUR equivalent"),
            ("DSO at start", _days(self.dso_start)),
            ("DSO at end", _days(self.dso_end)),
            ("Audit trail", _audit(self.audit)),
        ]


Inspect = Callable[[LocalRuntime, "DemoResult"], None]


def run_demo(
    options: DemoOptions, out: TextIO = sys.stdout, inspect: Inspect | None = None
) -> DemoResult:
    """Run the demo; `inspect` sees the runtime and the result before the runtime stops."""
    began = wallclock.monotonic()
    if options.workdir.exists():
        shutil.rmtree(options.workdir)
    clock = SimulatedClock(datetime.combine(DEMO_START, datetime.min.time(), tzinfo=UTC))
    book = build_book(DEMO_START, options.accounts, options.invoices_per_account, options.seed)
    with running(options.workdir, clock) as runtime:
        print(f"autoar demo: local runtime up, API at {runtime.api_url}", file=out)
        simulation = Simulation(runtime, clock, book)
        simulation.seed()
        simulation.run(options.days, _progress_bar(out))
        assert runtime.services is not None
        result = _result(runtime.services, options, simulation, began)
        if inspect is not None:
            inspect(runtime, result)
    _print_summary(result, out)
    return result


def _result(
    services: Services, options: DemoOptions, simulation: Simulation, began: float
) -> DemoResult:
    accounts = [c.account_id for c in simulation.book.customers]
    books = read_book(services.ledger.store, accounts)
    mail = MailStore(services.dynamodb, services.settings.ledger_table)
    tied = sum(len(mail.messages(account_id)) for account_id in accounts)
    bank_files = [
        event
        for event in services.audit.events(SYSTEM_CHAIN)
        if event.action == "bank_file.received"
    ]
    trail = [event for account_id in accounts for event in services.audit.events(account_id)]
    approvals = Counter(
        "requested" if event.action == "approval.requested" else event.outcome
        for event in trail
        if event.action in {"approval.requested", "approval.decided"}
    )
    kinds = Counter(
        str(event.inputs["action"]["kind"])
        for event in trail
        if event.action == "approval.requested"
    )
    written_off = sum(
        (
            in_eur(Decimal(str(e.inputs["amount"])), str(e.inputs["currency"]))
            for e in trail
            if e.action == "write_off.performed"
        ),
        Decimal(0),
    )
    end = DEMO_START + timedelta(days=options.days)
    report_path = options.workdir / "report.html"
    partial = DemoResult(
        accounts=accounts,
        start=DEMO_START,
        end=end,
        invoices=sum(len(records.invoices) for records in books),
        snapshots=simulation.snapshots,
        cash=collections(books, DEMO_START, end),
        replies=tied + len(mail.messages(None)),
        replies_tied=tied,
        work=agent_work(trail),
        bank_files=len(bank_files),
        bank_entries=sum(int(event.inputs.get("entries") or 0) for event in bank_files),
        approvals=approvals,
        approval_kinds=kinds,
        written_off_eur=written_off.quantize(Decimal("0.01")),
        audit=services.audit.verify(),
        report_path=report_path,
        seconds=wallclock.monotonic() - began,
    )
    report_path.write_text(
        render("autoar demo", partial.summary(), partial.snapshots, partial.cash.by_week)
    )
    return partial


def _print_summary(result: DemoResult, out: TextIO) -> None:
    width = max(len(label) for label, _ in result.summary())
    print(file=out)
    for label, value in result.summary():
        print(f"  {label:<{width}}  {value}", file=out)
    print(f"\nReport: {result.report_path.resolve()}", file=out)
    print(f"Ran in {result.seconds:.0f} s", file=out)


def _progress_bar(out: TextIO) -> Progress:
    interactive = out.isatty()

    def show(day: int, days: int, counters: dict[str, int]) -> None:
        filled = round(24 * day / days)
        figures = " · ".join(f"{name} {count}" for name, count in counters.items())
        line = f"day {day:>3}/{days} [{'#' * filled}{'.' * (24 - filled)}] {figures}"
        if interactive:
            print("\r" + line, end="\n" if day == days else "", file=out, flush=True)
        elif day == days or day % 10 == 0:
            print(line, file=out, flush=True)

    return show


def _approvals(counted: Counter[str], kinds: Counter[str]) -> str:
    decided = counted["approved"] + counted["rejected"]
    return (
        f"{counted['requested']} requested ({_listed(kinds)}), {decided} decided on the emailed "
        f"page ({counted['approved']} approved, {counted['rejected']} rejected)"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _counted(counted: Counter[str]) -> str:
    total = sum(counted.values())
    return f"{total} sent ({_listed(counted)})" if total else "none sent"


def _listed(counted: Counter[str]) -> str:
    named = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counted.most_common())
    return named or "none"


def _promises(counted: Counter[str]) -> str:
    return (
        f"{counted['recorded']} recorded, {counted['kept']} kept, {counted['broken']} broken "
        "(a broken promise moves the account up the tone ladder)"
    )


def _days(value: Decimal | None) -> str:
    return "n/a (no sales in the window)" if value is None else f"{value} days"


def _audit(report: VerificationReport) -> str:
    state = "all intact" if report.intact else f"{len(report.breaks)} BROKEN"
    return f"{report.chains} chains, {report.events} events verified, {state}"
