"""Actions as proposed, gated, approved and performed: one shape from proposal to execution."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.ledger.models import Instalment, RecordId
from shared.money import Currency, amount_in_currency, to_minor_units


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

    @property
    def covered_invoices(self) -> list[str]:
        return [self.invoice_number]


class PaymentPlan(BaseModel):
    """Let the customer pay what is open in instalments, on the schedule offered to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[ActionKind.PAYMENT_PLAN] = ActionKind.PAYMENT_PLAN
    account_id: RecordId
    currency: Currency
    amount: Decimal = Field(gt=0, description="What the plan covers; the instalments sum to it")
    invoice_numbers: list[RecordId] = Field(min_length=1)
    instalments: list[Instalment] = Field(min_length=1, max_length=60)
    reason: str = Field(min_length=1, max_length=500)

    _amount = field_validator("amount")(amount_in_currency)

    @model_validator(mode="after")
    def _instalments_sum_to_amount(self) -> Self:
        for index, instalment in enumerate(self.instalments):
            try:
                to_minor_units(instalment.amount, self.currency)
            except ValueError as error:
                raise ValueError(f"instalments[{index}].amount: {error}") from None
        total = sum((instalment.amount for instalment in self.instalments), Decimal(0))
        if total != self.amount:
            raise ValueError(f"instalments sum to {total}, not the plan amount {self.amount}")
        dates = [instalment.due_date for instalment in self.instalments]
        if dates != sorted(set(dates)):
            raise ValueError("instalments: due dates must be distinct and in date order")
        if len(set(self.invoice_numbers)) != len(self.invoice_numbers):
            raise ValueError("invoice_numbers: each invoice may appear once")
        return self

    @property
    def covered_invoices(self) -> list[str]:
        return list(self.invoice_numbers)


class AgencyEscalation(BaseModel):
    """Hand overdue invoices to a collection agency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[ActionKind.AGENCY_ESCALATION] = ActionKind.AGENCY_ESCALATION
    account_id: RecordId
    currency: Currency
    amount: Decimal = Field(gt=0, description="The open amount handed over")
    invoice_numbers: list[RecordId] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)

    _amount = field_validator("amount")(amount_in_currency)

    @property
    def covered_invoices(self) -> list[str]:
        return list(self.invoice_numbers)


Action = Annotated[WriteOff | PaymentPlan | AgencyEscalation, Field(discriminator="kind")]
"""Every action kind that can be performed today; the others (settlements, credit holds, legal
escalation) are policy vocabulary so far and join this union once perform.py carries them out."""
