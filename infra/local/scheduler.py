"""Fires the manifest's schedules on a clock, as EventBridge would, real or simulated."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.manifest import Schedule

Fire = Callable[[str, dict[str, Any]], None]


class Scheduler:
    def __init__(self, schedules: Iterable[Schedule], fire: Fire, start: datetime) -> None:
        """Each schedule first fires one period after `start`, then every period after that."""
        self._fire = fire
        self._next = {s: start + timedelta(minutes=s.every_minutes) for s in schedules}

    def tick(self, now: datetime) -> int:
        """Fire everything due by `now`, catching up missed periods in order; returns the count."""
        fired = 0
        while True:
            due = [(when, s) for s, when in self._next.items() if when <= now]
            if not due:
                return fired
            when, schedule = min(due, key=lambda pair: (pair[0], pair[1].name))
            self._fire(schedule.function, scheduled_event(schedule, when))
            self._next[schedule] = when + timedelta(minutes=schedule.every_minutes)
            fired += 1


def scheduled_event(schedule: Schedule, when: datetime) -> dict[str, Any]:
    """The event an EventBridge scheduled rule delivers to its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": [f"arn:aws:events:eu-west-1:123456789012:rule/{schedule.name}"],
        "detail": {},
    }
