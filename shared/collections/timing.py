"""When an email may go out (the contact's own business hours) and when to look at an account
again.

Send windows are wall-clock hours in the contact's time zone, so they move with daylight
saving time; every instant returned is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.collections.policy import CollectionsPolicy, SendWindow
from shared.collections.promises import PromiseStatus
from shared.collections.state import (
    PLAN_OFFER_TEMPLATE,
    STATEMENT_TEMPLATE,
    WEEK,
    AccountState,
    midnight,
)

MIN_REVIEW_GAP = timedelta(minutes=5)
"""However soon something falls due, an account is not looked at again sooner than this."""

_DAYS_SEARCHED = 14


def in_send_window(
    instant: datetime, time_zone: str, window: SendWindow, business_days: Collection[int]
) -> bool:
    local = instant.astimezone(ZoneInfo(time_zone))
    on_hours = window.start <= local.time().replace(tzinfo=None) < window.end
    return on_hours and local.weekday() in business_days


def next_send_time(
    earliest: datetime, time_zone: str, window: SendWindow, business_days: Collection[int]
) -> datetime:
    """The first instant at or after `earliest` inside the window on a business day.

    Opening and closing times are resolved each day in the zone, so a window keeps its wall
    clock hours across a daylight saving change; a day whose window a change makes
    impossible (an opening inside the skipped hour that lands after closing) is skipped.
    """
    zone = ZoneInfo(time_zone)
    earliest = earliest.astimezone(UTC)
    first_day = earliest.astimezone(zone).date()
    for offset in range(_DAYS_SEARCHED):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in business_days:
            continue
        opens = _instant(day, window.start, zone)
        closes = _instant(day, window.end, zone)
        candidate = max(earliest, opens)
        if candidate < closes and in_send_window(candidate, time_zone, window, business_days):
            return candidate
    raise ValueError(f"no send time within {_DAYS_SEARCHED} days; are any business days set?")


def touch_allowed_from(state: AccountState, rules: CollectionsPolicy) -> datetime:
    """The earliest instant the next touch keeps the minimum gap and the weekly limit."""
    allowed = state.now
    if state.touches:
        gap = timedelta(days=rules.min_days_between_touches)
        allowed = max(allowed, state.touches[0].sent_at + gap)
    limit = rules.max_touches_per_week
    if len(state.touches) >= limit:
        # The limit-th most recent touch must have left the seven days before the next one.
        allowed = max(allowed, state.touches[limit - 1].sent_at + WEEK)
    return allowed.astimezone(UTC)


def next_touch_time(state: AccountState, rules: CollectionsPolicy) -> datetime | None:
    """When the next email may go to the account's recipient; None when none can be mailed."""
    contact = state.recipient
    if contact is None:
        return None
    earliest = touch_allowed_from(state, rules)
    return next_send_time(
        earliest, contact.time_zone, rules.send_window, rules.business_day_numbers
    )


def send_time_from(day: date, state: AccountState, rules: CollectionsPolicy) -> datetime | None:
    """The first moment an email may go out once `day` (a ledger date) has begun."""
    contact = state.recipient
    if contact is None:
        return None
    earliest = max(midnight(day), touch_allowed_from(state, rules))
    return next_send_time(
        earliest, contact.time_zone, rules.send_window, rules.business_day_numbers
    )


@dataclass(frozen=True)
class ReviewTime:
    at: datetime
    reason: str
    rule: str


def next_review(state: AccountState, rules: CollectionsPolicy) -> ReviewTime:
    """The earliest thing still to come on the account, and at most the policy's interval away.

    Things to come: a reminder held back by the touch limits or send hours, the next cadence
    step, a promise or plan instalment falling due (after its grace), a hold ending, an
    escalation falling due, a statement, a plan offer.
    """
    ceiling = ReviewTime(
        at=state.now + timedelta(days=rules.review.max_days_between_reviews),
        reason="routine review",
        rule="collections.review.max_days_between_reviews",
    )
    upcoming = [event for event in _events(state, rules) if event.at > state.now]
    soonest = min(upcoming, key=lambda event: event.at, default=ceiling)
    if soonest.at > ceiling.at:
        soonest = ceiling
    floor = state.now + MIN_REVIEW_GAP
    return soonest if soonest.at >= floor else ReviewTime(floor, soonest.reason, soonest.rule)


def escalation_due_at(state: AccountState, rules: CollectionsPolicy) -> datetime | None:
    """When the account goes to a person after its last cadence step went unanswered."""
    if state.last_step_at is None:
        return None
    answered = [state.last_step_at]
    if state.last_payment_on is not None:
        answered.append(midnight(state.last_payment_on))
    if state.signals.last_reply_at is not None:
        answered.append(state.signals.last_reply_at)
    return max(answered) + timedelta(days=rules.escalation.days_after_final_notice)


def _events(state: AccountState, rules: CollectionsPolicy) -> Iterator[ReviewTime]:
    yield from _outreach_events(state, rules)
    for promise in state.promises:
        if promise.status is PromiseStatus.PENDING:
            yield ReviewTime(
                midnight(promise.broken_on),
                f"promise {promise.case.case_id} is judged after {promise.deadline}",
                "collections.promises",
            )
    for plan in state.plans:
        upcoming = plan.next_unpaid
        if upcoming is not None and not plan.defaulted:
            yield ReviewTime(
                midnight(upcoming.missed_on),
                f"plan {plan.case.case_id} instalment of {upcoming.instalment.due_date} is checked",
                "collections.payment_plans.grace_days",
            )
    hold = state.hold
    if hold is not None and hold.until is not None:
        yield ReviewTime(midnight(hold.until), "the hold ends", hold.rule)
    escalation = escalation_due_at(state, rules)
    if escalation is not None and not state.escalated_since(state.last_step_at):
        yield ReviewTime(escalation, "escalation falls due", "collections.escalation")


def _outreach_events(state: AccountState, rules: CollectionsPolicy) -> Iterator[ReviewTime]:
    if not rules.outreach_enabled or state.pause is not None or state.recipient is None:
        return
    if state.due_invoices:
        ready = next_touch_time(state, rules)
        if ready is not None:
            yield ReviewTime(ready, "a reminder is due; waiting for the touch limits", _LIMITS)
    upcoming = [i for i in state.unpaused_invoices if i.next_step_on is not None]
    if upcoming:
        # Only the earliest step can be the next review: later days never send sooner.
        first = min(upcoming, key=lambda i: (i.next_step_on, i.number))
        at = send_time_from(first.next_step_on or state.today, state, rules)
        if at is not None:
            yield ReviewTime(at, f"next step for {first.number}", "collections.cadence")
    yield from _statement_event(state, rules)
    yield from _plan_offer_event(state, rules)


_LIMITS = "collections.min_days_between_touches, max_touches_per_week, send_window"


def _statement_event(state: AccountState, rules: CollectionsPolicy) -> Iterator[ReviewTime]:
    every = rules.statements.every_days
    if every is None or not state.unpaused_invoices:
        return
    after = statement_due_on(state, every)
    at = send_time_from(after, state, rules)
    if at is not None:
        yield ReviewTime(at, "a statement falls due", "collections.statements.every_days")


def statement_due_on(state: AccountState, every_days: int) -> date:
    """A statement goes out `every_days` after the last one (or after the account opened)."""
    last = state.last_sent(STATEMENT_TEMPLATE) or state.account.created_at
    return last.astimezone(UTC).date() + timedelta(days=every_days)


def _plan_offer_event(state: AccountState, rules: CollectionsPolicy) -> Iterator[ReviewTime]:
    offer_from = rules.payment_plans.offer_from_days_past_due
    if offer_from is None or state.had_plan or state.last_sent(PLAN_OFFER_TEMPLATE) is not None:
        return
    unpaused = state.unpaused_invoices
    offer_on = unpaused[0].invoice.due_date + timedelta(days=offer_from) if unpaused else None
    if offer_on is not None and offer_on > state.today:
        at = send_time_from(offer_on, state, rules)
        if at is not None:
            yield ReviewTime(at, "a payment plan may be offered", "collections.payment_plans")


def _instant(day: date, wall_clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall_clock, tzinfo=zone).astimezone(UTC)
