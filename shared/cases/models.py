"""What opens a case, as the API, a customer's reply or the agent states it, and what a review
of cases found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.ledger.models import Case, CaseStatus, PaymentMethod, RecordId
from shared.money import Currency, amount_in_currency

NOTE_LENGTH = 500
"""Customer words kept on a case (a dispute's reason, a promise's note) are cut here."""


class CaseSource(StrEnum):
    """Who stated what a case records."""

    REPLY = "reply"
    API = "api"
    AGENT = "agent"


class DisputeReason(StrEnum):
    DAMAGED_GOODS = "damaged_goods"
    NOT_RECEIVED = "not_received"
    PRICING = "pricing"
    OTHER = "other"


class NewPromise(BaseModel):
    """A promise to pay: by when, how, and for which invoices or how much.

    Without an amount the promise covers what is open on the invoices it names (everything
    overdue, when it names none); without invoices it counts every payment toward it.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    currency: Currency | None = Field(default=None, description="The account's when absent")
    amount: Decimal | None = Field(default=None, gt=0, description="A decimal string")
    promised_date: date = Field(description="The day the customer says they will pay")
    payment_method: PaymentMethod | None = Field(
        default=None, description="How they will pay; a cheque takes longer to arrive"
    )
    invoice_numbers: list[RecordId] = Field(default_factory=list, max_length=100)
    note: str | None = Field(default=None, max_length=NOTE_LENGTH)

    _amount = field_validator("amount")(amount_in_currency)

    @field_validator("invoice_numbers")
    @classmethod
    def _distinct(cls, numbers: list[str]) -> list[str]:
        if len(set(numbers)) != len(numbers):
            raise ValueError("each invoice may appear once")
        return numbers


@dataclass(frozen=True)
class CaseChange:
    """One case a review moved on: its new state and the audit action that recorded it."""

    case: Case
    action: str

    @property
    def status(self) -> CaseStatus:
        return self.case.status
