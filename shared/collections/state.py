"""An account as the collections loop sees it at one instant: what is open, where each invoice
stands on its cadence, what pauses outreach, and who can be written to.

Facts only: what the policy then allows is `candidates`' business.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.actions.models import ActionKind
from shared.collections.plans import PlanProgress, track_plan
from shared.collections.policy import CollectionsPolicy, Step
from shared.collections.promises import PromiseState, PromiseStatus, judge_promise
from shared.ledger.aging import open_invoices
from shared.ledger.models import (
    Account,
    Case,
    CaseKind,
    CaseStatus,
    Contact,
    ContactRole,
    ContactStatus,
    Invoice,
    Touch,
)
from shared.ledger.store import AccountRecords
from shared.policy.models import Policy

WEEK = timedelta(days=7)
STATEMENT_TEMPLATE = "statement"
PLAN_OFFER_TEMPLATE = "payment_plan"
_FOLLOWED_PLANS = frozenset({CaseStatus.OPEN, CaseStatus.BROKEN})
_ROLE_PREFERENCE = (
    ContactRole.ACCOUNTS_PAYABLE,
    ContactRole.BILLING,
    ContactRole.PRIMARY,
    ContactRole.ESCALATION,
)


@dataclass(frozen=True)
class Signals:
    """What the decision needs that the ledger records do not hold; the caller reads it.

    `escalated_at` is the last time the account was put in front of a person (an escalation
    or an approval request): a person looking at an account sees all of it, so no trigger
    older than that escalates again.
    """

    last_reply_at: datetime | None = None
    escalated_at: datetime | None = None
    pending_approvals: frozenset[ActionKind] = frozenset()
    reply_for_a_person: tuple[datetime, str] | None = None
    """The latest reply a person has to answer (when it came, what the customer asks)."""


@dataclass(frozen=True)
class Pause:
    reason: str
    rule: str
    until: date | None = None


@dataclass(frozen=True)
class InvoiceState:
    invoice: Invoice
    days_past_due: int
    last_step: int | None
    """Index in the cadence of the furthest step already sent for this invoice."""
    last_step_at: datetime | None
    due_step: int | None
    """Index of the step to send now; None when nothing is due for this invoice."""
    next_step_on: date | None
    """The day the step after the due (or last sent) one falls due."""
    bumped_by: str | None
    """The broken promise that moved this invoice a step up the ladder, if any."""
    pause: Pause | None

    @property
    def number(self) -> str:
        return self.invoice.number

    @property
    def open_amount(self) -> Decimal:
        return self.invoice.open_amount


@dataclass(frozen=True)
class AccountState:
    account: Account
    now: datetime
    today: date
    segment: str
    steps: tuple[Step, ...]
    invoices: tuple[InvoiceState, ...]
    """Open invoices, oldest due date first."""
    open_balance: Decimal
    overdue_balance: Decimal
    open_cases: Mapping[CaseKind, tuple[Case, ...]]
    touches: tuple[Touch, ...]
    """Newest first."""
    touches_last_7_days: int
    promises: tuple[PromiseState, ...]
    plans: tuple[PlanProgress, ...]
    """Open payment plans, and broken ones: a plan broken by a missed instalment is still one a
    person has to hear about."""
    pause: Pause | None
    """What pauses all outreach on the account, if anything."""
    contacts: tuple[Contact, ...]
    """Contacts that can be mailed, the one to write to first."""
    last_step_at: datetime | None
    """When an invoice still open last got the cadence's last step."""
    last_payment_on: date | None
    had_plan: bool
    signals: Signals = field(default_factory=Signals)

    @property
    def account_id(self) -> str:
        return self.account.account_id

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def recipient(self) -> Contact | None:
        return self.contacts[0] if self.contacts else None

    @property
    def last_touch_at(self) -> datetime | None:
        return self.touches[0].sent_at if self.touches else None

    @property
    def hold(self) -> Pause | None:
        return _hold(self.account, self.today)

    @property
    def active_promise(self) -> PromiseState | None:
        return next((p for p in self.promises if p.status is PromiseStatus.PENDING), None)

    @property
    def active_plan(self) -> PlanProgress | None:
        return next((p for p in self.plans if p.case.status is CaseStatus.OPEN), None)

    @property
    def unpaused_invoices(self) -> list[InvoiceState]:
        return [i for i in self.invoices if i.pause is None]

    @property
    def due_invoices(self) -> list[InvoiceState]:
        """Unpaused invoices with a cadence step due now."""
        return [i for i in self.invoices if i.pause is None and i.due_step is not None]

    def escalated_since(self, trigger: datetime | None) -> bool:
        """Whether a person has been put onto the account since `trigger` happened."""
        escalated = self.signals.escalated_at
        return escalated is not None and trigger is not None and escalated >= trigger

    def last_sent(self, template: str) -> datetime | None:
        return next((t.sent_at for t in self.touches if t.template == template), None)


def build_state(
    records: AccountRecords, now: datetime, policy: Policy, signals: Signals | None = None
) -> AccountState:
    """The account's state at `now` under `policy`; pure, so it can be rebuilt after acting."""
    rules = policy.collections
    now = now.astimezone(UTC)
    today = now.date()
    account = records.account
    segment, steps = rules.steps_for(account.risk_segment)
    still_open = sorted(open_invoices(records.invoices), key=lambda i: (i.due_date, i.number))
    open_numbers = {invoice.number for invoice in still_open}
    cash = (records.payments, records.allocations)
    promises = tuple(
        promise
        for case in records.cases
        if (promise := judge_promise(case, *cash, open_numbers, today, rules.promises))
    )
    plans = tuple(
        track_plan(case, *cash, today, rules.payment_plans)
        for case in sorted(records.cases, key=lambda c: c.opened_at, reverse=True)
        if case.kind is CaseKind.PAYMENT_PLAN and case.status in _FOLLOWED_PLANS
    )
    touches = tuple(sorted(records.touches, key=lambda t: t.sent_at, reverse=True))
    case_pauses = _case_pauses(records.cases, promises, plans, rules)
    sent = _steps_sent(touches, steps)
    invoices = tuple(
        _invoice_state(invoice, today, steps, sent.get(invoice.number), promises, case_pauses)
        for invoice in still_open
    )
    return AccountState(
        account=account,
        now=now,
        today=today,
        segment=segment,
        steps=steps,
        invoices=invoices,
        open_balance=sum((i.open_amount for i in still_open), Decimal(0)),
        overdue_balance=sum((i.open_amount for i in still_open if i.due_date < today), Decimal(0)),
        open_cases=_open_cases(records.cases),
        touches=touches,
        touches_last_7_days=sum(1 for t in touches if t.sent_at > now - WEEK),
        promises=promises,
        plans=plans,
        pause=_account_pause(account, today, rules) or case_pauses.get(None),
        contacts=mailable(account.contacts),
        last_step_at=_last_step_at(invoices, steps),
        last_payment_on=max((p.received_on for p in records.payments), default=None),
        had_plan=any(c.kind is CaseKind.PAYMENT_PLAN for c in records.cases),
        signals=signals or Signals(),
    )


def step_index(steps: Sequence[Step], days_from_due: int) -> int | None:
    """The furthest step a day count has reached; None before the first step."""
    reached = None
    for index, step in enumerate(steps):
        if step.days_from_due > days_from_due:
            break
        reached = index
    return reached


def midnight(day: date) -> datetime:
    """The instant a ledger (UTC) date begins."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_Sent = tuple[int, datetime | None, datetime]
"""For one invoice: the furthest step sent, when, and when its last reminder of any step went."""


def _steps_sent(touches: Sequence[Touch], steps: Sequence[Step]) -> dict[str, _Sent]:
    """Per invoice, what its reminders so far have covered; statements and offers do not count."""
    sent: dict[str, _Sent] = {}
    for touch in reversed(touches):  # oldest first, so later touches win ties
        for number, marker in touch.cadence_steps.items():
            furthest, at, _ = sent.get(number, (-1, None, touch.sent_at))
            index = step_index(steps, marker)
            if index is not None and index >= furthest:
                furthest, at = index, touch.sent_at
            sent[number] = (furthest, at, touch.sent_at)
    return sent


def _invoice_state(
    invoice: Invoice,
    today: date,
    steps: Sequence[Step],
    sent: _Sent | None,
    promises: Sequence[PromiseState],
    case_pauses: Mapping[str | None, Pause],
) -> InvoiceState:
    days = invoice.days_past_due(today)
    furthest, furthest_at, reminded_at = sent or (-1, None, None)
    reached = step_index(steps, days)
    on_calendar = -1 if reached is None else reached
    due = on_calendar
    bump = _bump(invoice.number, today, reminded_at, promises)
    if bump is not None and steps:
        due = min(max(due, furthest + 1), len(steps) - 1)
    due_step = due if due > furthest else None
    after = max(due, furthest) + 1
    return InvoiceState(
        invoice=invoice,
        days_past_due=days,
        last_step=furthest if furthest >= 0 else None,
        last_step_at=furthest_at,
        due_step=due_step,
        next_step_on=(
            invoice.due_date + timedelta(days=steps[after].days_from_due)
            if after < len(steps)
            else None
        ),
        bumped_by=bump if due_step is not None and due > on_calendar else None,
        pause=case_pauses.get(invoice.number),
    )


def _bump(
    number: str, today: date, reminded_at: datetime | None, promises: Sequence[PromiseState]
) -> str | None:
    """The broken promise on this invoice that no reminder has answered yet, if any."""
    for promise in promises:
        covers = not promise.invoice_numbers or number in promise.invoice_numbers
        if promise.status is not PromiseStatus.BROKEN or not covers:
            continue
        answered = reminded_at is not None and reminded_at >= midnight(promise.broken_on)
        if promise.broken_on <= today and not answered:
            return promise.case.case_id
    return None


def _case_pauses(
    cases: Sequence[Case],
    promises: Sequence[PromiseState],
    plans: Sequence[PlanProgress],
    rules: CollectionsPolicy,
) -> dict[str | None, Pause]:
    """Pauses by invoice number, and under None the one on the whole account, if any."""
    pending = {p.case.case_id: p for p in promises if p.status is PromiseStatus.PENDING}
    on_track = {p.case.case_id for p in plans if not p.defaulted}
    pauses: dict[str | None, Pause] = {}
    for case in sorted(cases, key=lambda c: c.opened_at):
        if case.status is not CaseStatus.OPEN or case.kind not in rules.pauses.case_kinds:
            continue
        if case.kind is CaseKind.PROMISE_TO_PAY and case.case_id not in pending:
            continue
        if case.kind is CaseKind.PAYMENT_PLAN and case.case_id not in on_track:
            continue
        promise = pending.get(case.case_id)
        pause = Pause(
            reason=f"open {case.kind.value.replace('_', ' ')} {case.case_id}",
            rule="collections.pauses.case_kinds",
            until=promise.broken_on if promise else None,
        )
        targets: list[str | None] = [*case.invoice_numbers] or [None]
        for target in targets:
            pauses.setdefault(target, pause)
    return pauses


def _account_pause(account: Account, today: date, rules: CollectionsPolicy) -> Pause | None:
    if account.status in rules.pauses.account_statuses:
        return Pause(f"account is {account.status.value}", "collections.pauses.account_statuses")
    if account.autopay and rules.pauses.autopay:
        return Pause("customer pays by autopay", "collections.pauses.autopay")
    return _hold(account, today)


def _hold(account: Account, today: date) -> Pause | None:
    if account.hold_until is None or today >= account.hold_until:
        return None
    why = f": {account.hold_reason}" if account.hold_reason else ""
    return Pause(
        f"on hold until {account.hold_until}{why}", "account.hold_until", account.hold_until
    )


def _open_cases(cases: Sequence[Case]) -> dict[CaseKind, tuple[Case, ...]]:
    grouped: dict[CaseKind, list[Case]] = defaultdict(list)
    for case in cases:
        if case.status is CaseStatus.OPEN:
            grouped[case.kind].append(case)
    return {kind: tuple(found) for kind, found in grouped.items()}


def mailable(contacts: Sequence[Contact]) -> tuple[Contact, ...]:
    """The contacts that can be mailed, the one to write to first."""
    active = [c for c in contacts if c.status is ContactStatus.ACTIVE]
    return tuple(sorted(active, key=lambda c: _ROLE_PREFERENCE.index(c.role)))


def _last_step_at(invoices: Sequence[InvoiceState], steps: Sequence[Step]) -> datetime | None:
    final = len(steps) - 1
    return max(
        (i.last_step_at for i in invoices if i.last_step == final and i.last_step_at is not None),
        default=None,
    )
