"""The collections section of the policy: cadence, when and how often to write, what pauses
outreach, and what the agent may settle on its own.

Amount limits are in the policy's base currency. A document that contradicts itself is refused
with the field and the reason, never interpreted.
"""

from __future__ import annotations

import itertools
import re
from datetime import time
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.collections.templates import TEMPLATE_NAMES
from shared.ledger.models import AccountStatus, CaseKind, PaymentMethod

REQUIRED_SEGMENTS = ("standard", "high_risk", "strategic")
_SEGMENT = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
FALLBACK_SEGMENT = "standard"


class Tone(StrEnum):
    """The ladder a reminder climbs, gentlest first."""

    COURTESY = "courtesy"
    FRIENDLY = "friendly"
    FIRM = "firm"
    FINAL_NOTICE = "final_notice"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {tone: rank for rank, tone in enumerate(Tone)}


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday is 0, as `date.weekday()` counts."""
        return _WEEKDAY_NUMBERS[self]


_WEEKDAY_NUMBERS = {day: number for number, day in enumerate(Weekday)}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(Section):
    """One reminder in a cadence, sent when an invoice is `days_from_due` days past its due date."""

    days_from_due: int = Field(ge=-90, le=730, description="Negative: before the due date")
    tone: Tone
    template: str = Field(min_length=1, max_length=64)

    @field_validator("template")
    @classmethod
    def _known_template(cls, name: str) -> str:
        if name not in TEMPLATE_NAMES:
            known = ", ".join(sorted(TEMPLATE_NAMES))
            raise ValueError(f"unknown template {name!r}; known: {known}")
        return name


class SendWindow(Section):
    """The hours of the contact's own day in which an email may go out (end exclusive)."""

    start: time = time(9, 0)
    end: time = time(17, 0)

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are local to the contact; give no offset")
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} must be after start {self.start:%H:%M}")
        return self


class Pauses(Section):
    case_kinds: list[CaseKind] = Field(
        default_factory=lambda: [CaseKind.DISPUTE, CaseKind.PROMISE_TO_PAY, CaseKind.PAYMENT_PLAN]
    )
    account_statuses: list[AccountStatus] = Field(
        default_factory=lambda: [
            AccountStatus.INSOLVENT,
            AccountStatus.ON_HOLD,
            AccountStatus.CLOSED,
        ]
    )
    autopay: bool = Field(default=True, description="Customers paying by autopay get no reminders")

    @field_validator("account_statuses")
    @classmethod
    def _not_active(cls, statuses: list[AccountStatus]) -> list[AccountStatus]:
        if AccountStatus.ACTIVE in statuses:
            raise ValueError("pausing active accounts stops all outreach; set outreach_enabled")
        return statuses


class Promises(Section):
    grace_days: int = Field(default=3, ge=0, le=30)
    clearing_days: dict[PaymentMethod, int] = Field(
        default_factory=lambda: {
            PaymentMethod.CHECK: 7,
            PaymentMethod.ACH: 2,
            PaymentMethod.WIRE: 1,
            PaymentMethod.SEPA: 1,
            PaymentMethod.CARD: 1,
            PaymentMethod.OTHER: 3,
        },
        description="Days a payment takes to arrive by each method; unlisted ones use `other`",
    )

    @field_validator("clearing_days")
    @classmethod
    def _sensible_days(cls, days: dict[PaymentMethod, int]) -> dict[PaymentMethod, int]:
        for method, count in days.items():
            if not 0 <= count <= 60:
                raise ValueError(f"{method.value}: between 0 and 60 days")
        return days

    def clearing_days_for(self, method: PaymentMethod | None) -> int:
        fallback = self.clearing_days.get(PaymentMethod.OTHER, 0)
        return fallback if method is None else self.clearing_days.get(method, fallback)


class PaymentPlans(Section):
    instalments: int = Field(default=3, ge=2, le=60, description="How many the agent offers")
    first_due_in_days: int = Field(default=7, ge=0, le=90)
    days_between_instalments: int = Field(default=30, ge=7, le=92)
    grace_days: int = Field(default=3, ge=0, le=30)
    max_instalments_without_approval: int = Field(default=0, ge=0, le=60)
    max_amount_without_approval: Decimal = Field(default=Decimal(0), ge=0)
    offer_from_days_past_due: int | None = Field(
        default=None, ge=1, le=730, description="Offer a plan unasked; absent: only when asked"
    )
    min_balance: Decimal = Field(default=Decimal(0), ge=0, description="No plan below this")


class SmallBalances(Section):
    write_off_below: Decimal = Field(default=Decimal(0), ge=0, description="0: never")
    min_days_past_due: int = Field(default=60, ge=0, le=730)


class Escalation(Section):
    days_after_final_notice: int = Field(
        default=14, ge=1, le=365, description="Counted from the cadence's last step"
    )
    agency_from_amount: Decimal | None = Field(default=None, gt=0)
    agency_min_days_past_due: int = Field(default=90, ge=30, le=730)


class Statements(Section):
    every_days: int | None = Field(default=None, ge=7, le=365, description="Absent: never")


class Review(Section):
    max_days_between_reviews: int = Field(default=7, ge=1, le=31)


class CollectionsPolicy(Section):
    outreach_enabled: bool = True
    one_email_per_account: bool = True
    cadence: dict[str, list[Step]] = Field(default_factory=dict)
    min_days_between_touches: int = Field(default=3, ge=0, le=60)
    max_touches_per_week: int = Field(default=2, ge=1, le=14)
    send_window: SendWindow = Field(default_factory=SendWindow)
    business_days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI],
        min_length=1,
    )
    pauses: Pauses = Field(default_factory=Pauses)
    promises: Promises = Field(default_factory=Promises)
    payment_plans: PaymentPlans = Field(default_factory=PaymentPlans)
    small_balances: SmallBalances = Field(default_factory=SmallBalances)
    escalation: Escalation = Field(default_factory=Escalation)
    statements: Statements = Field(default_factory=Statements)
    review: Review = Field(default_factory=Review)

    @classmethod
    def silent(cls) -> CollectionsPolicy:
        """What a policy without a collections section means: no outreach, nothing autonomous."""
        return cls(outreach_enabled=False)

    @field_validator("one_email_per_account")
    @classmethod
    def _combined(cls, combined: bool) -> bool:
        if not combined:
            raise ValueError("must be true: autoar sends one combined email per account")
        return combined

    @field_validator("business_days")
    @classmethod
    def _distinct_days(cls, days: list[Weekday]) -> list[Weekday]:
        if len(set(days)) != len(days):
            raise ValueError("each weekday may appear once")
        return days

    @field_validator("cadence")
    @classmethod
    def _cadence_climbs(cls, cadence: dict[str, list[Step]]) -> dict[str, list[Step]]:
        for segment, steps in cadence.items():
            _check_segment(segment, steps)
        return cadence

    @model_validator(mode="after")
    def _segments_present(self) -> Self:
        missing = [s for s in REQUIRED_SEGMENTS if s not in self.cadence]
        if self.outreach_enabled and missing:
            raise ValueError(f"cadence: segments {', '.join(missing)} are missing")
        return self

    def steps_for(self, segment: str) -> tuple[str, tuple[Step, ...]]:
        """The cadence an account's risk segment follows (standard for unknown segments)."""
        name = segment if segment in self.cadence else FALLBACK_SEGMENT
        return name, tuple(self.cadence.get(name, ()))

    @cached_property
    def business_day_numbers(self) -> frozenset[int]:
        return frozenset(day.number for day in self.business_days)


def _check_segment(segment: str, steps: list[Step]) -> None:
    where = f"segment {segment}"
    if not _SEGMENT.match(segment):
        raise ValueError(f"{where}: a segment is written like an account's risk_segment")
    if not steps:
        raise ValueError(f"{where}: needs at least one step")
    for earlier, later in itertools.pairwise(steps):
        if later.days_from_due <= earlier.days_from_due:
            raise ValueError(
                f"{where}: steps must be sorted by days_from_due, each later than the one "
                f"before ({later.days_from_due} follows {earlier.days_from_due})"
            )
        if later.tone.rank < earlier.tone.rank:
            raise ValueError(
                f"{where}: the tone never steps down the ladder "
                f"({later.tone.value} follows {earlier.tone.value})"
            )
    if any(step.tone is Tone.FINAL_NOTICE for step in steps[:-1]):
        raise ValueError(f"{where}: a final notice can only be the last step")
