"""Actions as proposed, gated, approved and performed: one shape from proposal to execution."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.ledger.models import RecordId
from shared.money import Currency, amount_in_currency


class ActionKind(StrEnum):
    WRITE_OFF = "write_off"
    PAYMENT_PLAN = "payment_plan"
    SETTLEMENT = "settlement"
    CREDIT_HOLD = "credit_hold"
    AGENCY_ESCALATION = "agency_escalation"
    LEGAL_ESCALATION = "legal_escalation"


class WriteOff(BaseModel):
    """Clear what is left open on an invoice as uncollectable or not worth pursuing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[ActionKind.WRITE_OFF] = ActionKind.WRITE_OFF
    account_id: RecordId
    invoice_number: RecordId
    currency: Currency
    amount: Decimal = Field(gt=0, description="Must equal the invoice's open amount when done")
    reason: str = Field(min_length=1, max_length=500)

    _amount = field_validator("amount")(amount_in_currency)


Action = Annotated[WriteOff, Field(discriminator="kind")]
"""Every action kind that can be performed today; the others are policy vocabulary so far."""
