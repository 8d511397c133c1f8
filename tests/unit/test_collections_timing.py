"""Emails go out in the contact's business hours, whatever the zone and daylight saving do."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.collections.policy import SendWindow
from shared.collections.state import build_state
from shared.collections.timing import (
    MIN_REVIEW_GAP,
    in_send_window,
    next_review,
    next_send_time,
    touch_allowed_from,
)
from shared.ledger.models import CaseKind
from tests.collections_factories import (
    NOW,
    TODAY,
    account,
    case,
    contact,
    example_policy,
    invoice,
    plan,
    promise,
    records,
    touch,
)

OFFICE = SendWindow(start=time(9, 0), end=time(17, 0))
WEEKDAYS = frozenset(range(5))
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "America/Sao_Paulo",
]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("earliest", "zone", "expected"),
    [
        # Monday 10:00 UTC is 11:00 in Berlin: inside the window, send at once
        (utc(2026, 3, 2, 10), "Europe/Berlin", utc(2026, 3, 2, 10)),
        # Monday 05:00 in New York: wait for 09:00 there
        (utc(2026, 3, 2, 10), "America/New_York", utc(2026, 3, 2, 14)),
        # Friday 16:30 in Berlin is inside; Friday 17:00 is not: Monday 09:00
        (utc(2026, 3, 6, 15, 30), "Europe/Berlin", utc(2026, 3, 6, 15, 30)),
        (utc(2026, 3, 6, 16), "Europe/Berlin", utc(2026, 3, 9, 8)),
        # Saturday in Kolkata (+05:30): Monday 09:00 there
        (utc(2026, 3, 7, 6), "Asia/Kolkata", utc(2026, 3, 9, 3, 30)),
        # Sunday 29 March 2026 Berlin moves to summer time: Monday 09:00 is 07:00 UTC
        (utc(2026, 3, 28, 12), "Europe/Berlin", utc(2026, 3, 30, 7)),
        # New York moves on 8 March 2026: the Monday after opens at 13:00 UTC, not 14:00
        (utc(2026, 3, 7, 12), "America/New_York", utc(2026, 3, 9, 13)),
    ],
)
def test_the_next_send_time_is_the_first_business_hour_in_the_contacts_zone(
    earliest, zone, expected
):
    assert next_send_time(earliest, zone, OFFICE, WEEKDAYS) == expected


def test_a_window_opening_inside_the_skipped_hour_opens_when_the_clock_jumps():
    # Given a window from 02:30 in Berlin, on the night the clocks jump from 02:00 to 03:00
    night = SendWindow(start=time(2, 30), end=time(5, 0))
    sunday = frozenset({6})

    # When the earliest send is that Sunday at midnight
    sent = next_send_time(utc(2026, 3, 28, 23), "Europe/Berlin", night, sunday)

    # Then it goes at 03:30 local: the first instant the wall clock shows 02:30 or later
    local = sent.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date(), local.time()) == (date(2026, 3, 29), time(3, 30))


@given(
    earliest=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(ZONES),
    start_minutes=st.integers(min_value=0, max_value=23 * 60),
    length_minutes=st.integers(min_value=1, max_value=12 * 60),
    business_days=st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
)
def test_a_send_time_is_never_in_quiet_hours_or_on_a_day_off(
    earliest, zone, start_minutes, length_minutes, business_days
):
    end_minutes = min(start_minutes + length_minutes, 24 * 60 - 1)
    window = SendWindow(start=time(*divmod(start_minutes, 60)), end=time(*divmod(end_minutes, 60)))

    sent = next_send_time(earliest, zone, window, business_days)

    local = sent.astimezone(ZoneInfo(zone))
    assert sent >= earliest
    assert window.start <= local.time().replace(tzinfo=None) < window.end
    assert local.weekday() in business_days
    assert in_send_window(sent, zone, window, business_days)
    # And nothing earlier was allowed: it is either the earliest instant or a window opening
    assert (
        sent == earliest
        or local.time().replace(tzinfo=None) <= window.start
        or (not in_send_window(sent - timedelta(minutes=1), zone, window, business_days))
    )


def test_touches_keep_the_minimum_gap_and_the_weekly_limit():
    # Given a touch two days ago, with a minimum gap of three days
    policy = example_policy()
    recent = records(touches=[touch(NOW - timedelta(days=2))])

    # Then the next may go one day from now
    assert touch_allowed_from(build_state(recent, NOW, policy), policy.collections) == (
        NOW + timedelta(days=1)
    )

    # Given two touches within the last seven days (the weekly limit is two)
    busy = records(
        touches=[touch(NOW - timedelta(days=6)), touch(NOW - timedelta(days=3, hours=1))]
    )

    # Then the next waits until the older leaves the seven days
    assert touch_allowed_from(build_state(busy, NOW, policy), policy.collections) == (
        NOW + timedelta(days=1)
    )


def review(**parts: Any) -> tuple[datetime, str]:
    policy = example_policy()
    found = next_review(build_state(records(**parts), NOW, policy), policy.collections)
    return found.at, found.reason


def test_the_next_review_is_at_most_the_policy_interval_away():
    at, reason = review()

    assert at == NOW + timedelta(days=7)
    assert reason == "routine review"


def test_the_next_review_comes_with_the_next_cadence_step_in_business_hours():
    # Given an invoice whose friendly step falls on Friday 6 March (3 days after due)
    at, reason = review(invoices=[invoice("INV-1", -1)], touches=[touch(NOW - timedelta(days=9))])

    # Then the review is 09:00 Berlin that day
    assert at == utc(2026, 3, 6, 8)
    assert reason == "next step for INV-1"


def test_a_pending_promise_is_reviewed_the_day_after_its_deadline():
    # Given a promise for today, by "other" (three days to arrive) plus three days grace
    pending = promise("P-1", TODAY, numbers=["INV-1"])

    at, reason = review(invoices=[invoice("INV-1", 40)], cases=[pending])

    # Then it is judged on 9 March, the day after its deadline
    assert at == utc(2026, 3, 9)
    assert "promise P-1" in reason


def test_a_plan_is_reviewed_after_each_instalment_and_its_grace():
    running = plan(
        "PL-1", [(TODAY + timedelta(days=1), "600.00"), (TODAY + timedelta(days=31), "600.00")]
    )

    at, _ = review(invoices=[invoice("INV-1", 40)], cases=[running])

    assert at == utc(2026, 3, 7)


def test_a_hold_is_reviewed_when_it_ends():
    held = account(hold_until=TODAY + timedelta(days=2), hold_reason="CFO call")

    at, reason = review(owner=held, invoices=[invoice("INV-1", 10)])

    assert (at, reason) == (utc(2026, 3, 4), "the hold ends")


def test_a_review_is_never_sooner_than_the_minimum_gap():
    # Given a reminder that becomes sendable one minute from now
    opening = NOW.replace(hour=7, minute=59)  # 08:59 in Berlin
    policy = example_policy()
    state = build_state(records(invoices=[invoice("INV-1", 5)]), opening, policy)

    found = next_review(state, policy.collections)

    assert found.at == opening + MIN_REVIEW_GAP


def test_no_review_event_comes_from_a_paused_invoice():
    disputed = case("D-1", CaseKind.DISPUTE, numbers=["INV-1"])

    at, reason = review(
        invoices=[invoice("INV-1", 1)],
        cases=[disputed],
        owner=account(contacts=[contact(time_zone="Europe/Berlin")]),
    )

    assert reason == "routine review"
    assert at == NOW + timedelta(days=7)
