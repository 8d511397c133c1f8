"""Over random accounts and random instants, no email breaks the policy, and simulated weeks of
decisions keep every limit.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.actions.models import ActionKind
from shared.collections.candidates import (
    OUTREACH,
    EscalateToPerson,
    Outreach,
    RequestApproval,
    SendFinalNotice,
    SendReminder,
    Wait,
    WriteOffSmallBalance,
    build_candidates,
)
from shared.collections.choose import RulesReasoner, ensure_offered
from shared.collections.outreach import touch_for
from shared.collections.state import AccountState, Signals, build_state
from shared.ledger.models import (
    Account,
    AccountStatus,
    Case,
    CaseKind,
    CaseStatus,
    Contact,
    Instalment,
    Invoice,
    InvoiceStatus,
    Payment,
    Touch,
)
from shared.ledger.store import AccountRecords
from tests.collections_factories import example_policy

POLICY = example_policy()
RULES = POLICY.collections
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
REASONER = RulesReasoner()

any_instant = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
office_hours = st.builds(
    lambda day, minutes: (
        datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minutes)
    ),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    st.integers(7 * 60, 16 * 60),
)
instants = office_hours | any_instant
"""Any instant, and as often one near European office hours, where emails can go out."""


@st.composite
def contacts(draw: Any) -> list[Contact]:
    count = draw(st.sampled_from([1] * 6 + [0, 2, 3]))
    return [
        Contact(
            contact_id=f"c{index}",
            name="Dana",
            email=f"c{index}@customer.example",
            role=draw(st.sampled_from(["billing", "accounts_payable", "primary", "escalation"])),
            language=draw(st.sampled_from(["en", "de", "fr"])),
            time_zone=draw(st.sampled_from(ZONES)),
            status=draw(st.sampled_from(["active"] * 8 + ["bounced", "complained"])),
        )
        for index in range(count)
    ]


@st.composite
def accounts(draw: Any, now: datetime) -> Account:
    hold = draw(st.sampled_from([None] * 12 + [-3, 0, 3, 10]))
    return Account(
        account_id="ACME",
        name="Acme",
        currency="EUR",
        risk_segment=draw(st.sampled_from(["standard", "high_risk", "strategic", "vip"])),
        autopay=draw(st.sampled_from([False] * 12 + [True])),
        status=draw(st.sampled_from([AccountStatus.ACTIVE] * 24 + list(AccountStatus))),
        contacts=draw(contacts()),
        hold_until=None if hold is None else now.date() + timedelta(days=hold),
        created_at=now - timedelta(days=draw(st.integers(0, 400))),
        updated_at=now - timedelta(days=1),
    )


@st.composite
def invoices(draw: Any, today: date) -> list[Invoice]:
    listed = []
    for index in range(draw(st.integers(0, 6))):
        due = today - timedelta(days=draw(st.integers(-10, 40) | st.integers(-20, 200)))
        amount = Decimal(draw(st.integers(100, 2_000_000))).scaleb(-2)
        open_amount = amount if draw(st.booleans()) else Decimal(draw(st.integers(1, 100)))
        listed.append(
            Invoice(
                account_id="ACME",
                number=f"INV-{index}",
                issue_date=due - timedelta(days=30),
                due_date=due,
                currency="EUR",
                amount=amount,
                open_amount=min(open_amount, amount),
                created_at=datetime(due.year, due.month, due.day, tzinfo=UTC),
            )
        )
    return listed


@st.composite
def touches(draw: Any, now: datetime, numbers: list[str]) -> list[Touch]:
    sent = []
    for index in range(draw(st.sampled_from([0, 0, 1, 1, 2, 5]))):
        sent_at = now - timedelta(minutes=draw(st.integers(1, 30 * 24 * 60)))
        covered = draw(st.lists(st.sampled_from(numbers), unique=True)) if numbers else []
        steps = {
            n: draw(st.sampled_from([-5, -3, 1, 3, 5, 7, 14, 20, 21, 30, 45])) for n in covered
        }
        sent.append(
            Touch(
                account_id="ACME",
                touch_id=f"T{index}",
                sent_at=sent_at,
                contact_id="c0",
                template=draw(st.sampled_from(["friendly", "firm", "statement"])),
                invoice_numbers=covered,
                cadence_steps=steps,
            )
        )
    return sent


@st.composite
def cases(draw: Any, now: datetime, numbers: list[str]) -> list[Case]:
    found = []
    for index in range(draw(st.sampled_from([0, 0, 0, 1, 1, 3]))):
        kind = draw(st.sampled_from(list(CaseKind)))
        opened = now - timedelta(days=draw(st.integers(0, 60)))
        found.append(
            Case(
                account_id="ACME",
                case_id=f"C{index}",
                kind=kind,
                status=draw(st.sampled_from([CaseStatus.OPEN] * 3 + list(CaseStatus))),
                currency="EUR",
                amount=Decimal("500.00"),
                invoice_numbers=draw(st.lists(st.sampled_from(numbers), unique=True))
                if numbers
                else [],
                promised_date=opened.date() + timedelta(days=draw(st.integers(0, 30))),
                instalments=[
                    Instalment(due_date=opened.date() + timedelta(days=30 * k), amount="250.00")
                    for k in (1, 2)
                ]
                if kind is CaseKind.PAYMENT_PLAN
                else [],
                opened_at=opened,
            )
        )
    return found


@st.composite
def account_at(draw: Any) -> tuple[AccountRecords, datetime, Signals]:
    now = draw(instants)
    listed = draw(invoices(now.date()))
    numbers = [i.number for i in listed]
    received = [
        Payment(
            account_id="ACME",
            payment_id=f"P{index}",
            received_on=now.date() - timedelta(days=draw(st.integers(0, 60))),
            currency="EUR",
            amount=Decimal("100.00"),
            method="sepa",
            unapplied_amount=Decimal("100.00"),
            created_at=now,
        )
        for index in range(draw(st.integers(0, 2)))
    ]
    records = AccountRecords(
        account=draw(accounts(now)),
        invoices=listed,
        touches=draw(touches(now, numbers)),
        cases=draw(cases(now, numbers)),
        payments=received,
    )
    escalated = draw(st.none() | st.integers(0, 40))
    signals = Signals(
        escalated_at=None if escalated is None else now - timedelta(days=escalated),
        pending_approvals=draw(st.frozensets(st.sampled_from(list(ActionKind)))),
    )
    return records, now, signals


def assert_email_keeps_the_policy(email: Outreach, state: AccountState) -> None:
    contact = state.account.contact(email.contact_id)
    assert contact is not None
    assert contact.status == "active"
    local = email.not_before.astimezone(ZoneInfo(contact.time_zone))
    assert RULES.send_window.start <= local.time().replace(tzinfo=None) < RULES.send_window.end
    assert local.weekday() in RULES.business_day_numbers
    assert email.not_before >= state.now
    recent = [t for t in state.touches if t.sent_at > email.not_before - timedelta(days=7)]
    assert len(recent) < RULES.max_touches_per_week
    if state.touches:
        gap = email.not_before - state.touches[0].sent_at
        assert gap >= timedelta(days=RULES.min_days_between_touches)
    assert state.pause is None
    paused = {i.number for i in state.invoices if i.pause is not None}
    assert paused.isdisjoint(email.invoice_numbers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_at())
def test_no_email_on_offer_breaks_the_policy(drawn):
    # Given any account at any instant
    records, now, signals = drawn
    state = build_state(records, now, POLICY, signals)

    # When the candidates are built
    candidates = build_candidates(state, POLICY)

    # Then every email keeps quiet hours, business days, the limits, and every pause
    for email in candidates:
        if isinstance(email, OUTREACH):
            assert_email_keeps_the_policy(email, state)
        if isinstance(email, SendReminder | SendFinalNotice):
            due = {i.number for i in state.due_invoices}
            assert set(email.invoice_numbers) <= due
    # And there is exactly one email of each kind, and exactly one wait, last
    assert isinstance(candidates[-1], Wait)
    assert sum(isinstance(c, Wait) for c in candidates) == 1
    assert len({c.key for c in candidates}) == len(candidates)
    assert candidates[-1].until > now


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_at())
def test_the_rules_choose_only_what_was_offered(drawn):
    records, now, signals = drawn
    state = build_state(records, now, POLICY, signals)
    candidates = build_candidates(state, POLICY)

    choice = REASONER.choose(state, candidates)

    assert ensure_offered(choice, candidates) == choice.candidate
    if isinstance(choice.candidate, OUTREACH):
        assert_email_keeps_the_policy(choice.candidate, state)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_at(), st.lists(st.integers(5, 36 * 60), min_size=30, max_size=80))
def test_weeks_of_decisions_keep_every_limit(drawn, steps_in_minutes):
    # Given an account, decided on again and again over simulated weeks
    records, now, signals = drawn
    sent: list[Touch] = []
    for minutes in steps_in_minutes:
        now += timedelta(minutes=minutes)
        state = build_state(records, now, POLICY, signals)
        choice = REASONER.choose(state, build_candidates(state, POLICY))
        # When the chosen action is carried out
        records, signals = act(records, signals, choice.candidate, state, sent)

    # Then the emails, in the contacts' zones, never crowd each other or break the hours
    history = sorted(sent, key=lambda t: t.sent_at)
    for earlier, later in itertools.pairwise(history):
        assert later.sent_at - earlier.sent_at >= timedelta(days=RULES.min_days_between_touches)
    for index, touch in enumerate(history):
        window = [t for t in history[: index + 1] if t.sent_at > touch.sent_at - timedelta(7)]
        assert len(window) <= RULES.max_touches_per_week


def act(
    records: AccountRecords,
    signals: Signals,
    chosen: Any,
    state: AccountState,
    sent: list[Touch],
) -> tuple[AccountRecords, Signals]:
    if isinstance(chosen, OUTREACH):
        assert_email_keeps_the_policy(chosen, state)
        touch = touch_for(chosen, f"S{len(sent)}", chosen.not_before, "ACME")
        sent.append(touch)
        return replace(records, touches=[*records.touches, touch]), signals
    if isinstance(chosen, WriteOffSmallBalance):
        number = chosen.action.invoice_number
        settled = [_settled(i) if i.number == number else i for i in records.invoices]
        return replace(records, invoices=settled), signals
    if isinstance(chosen, EscalateToPerson | RequestApproval):
        return records, replace(signals, escalated_at=state.now)
    return records, signals


def _settled(invoice: Invoice) -> Invoice:
    return invoice.model_copy(update={"open_amount": Decimal("0.00"), "status": InvoiceStatus.PAID})
