"""Ledger records as the rest of autoar sees them, validated on the way in.

Every amount is a Decimal at its currency's minor unit; every record that can be raced carries a
version for optimistic locking.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.money import Currency, amount_in_currency, to_minor_units

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
_EMAIL = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

RecordId = Annotated[str, Field(pattern=_ID, description="Letters, digits and . _ : / - (max 64)")]


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value.lower()


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
    return value


def _check_language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a language tag such as en or de-CH")
    return value


Email = Annotated[str, AfterValidator(_check_email)]
TimeZone = Annotated[str, AfterValidator(_check_time_zone)]
Language = Annotated[str, AfterValidator(_check_language)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactRole(StrEnum):
    BILLING = "billing"
    ACCOUNTS_PAYABLE = "accounts_payable"
    PRIMARY = "primary"
    ESCALATION = "escalation"


class ContactStatus(StrEnum):
    ACTIVE = "active"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Contact(Record):
    contact_id: RecordId
    name: str = Field(min_length=1, max_length=200)
    email: Email
    role: ContactRole = ContactRole.BILLING
    language: Language = "en"
    time_zone: TimeZone = "UTC"
    status: ContactStatus = ContactStatus.ACTIVE


class AccountStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    INSOLVENT = "insolvent"
    CLOSED = "closed"


class AccountProfile(Record):
    """What an integrator says about a customer account."""

    name: str = Field(min_length=1, max_length=200)
    currency: Currency
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    credit_limit: Decimal | None = Field(default=None, ge=0)
    risk_segment: str = Field(default="standard", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    autopay: bool = False
    status: AccountStatus = AccountStatus.ACTIVE
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    hold_until: date | None = Field(
        default=None, description="No outreach before this (UTC) date; the agent resumes on it"
    )
    hold_reason: str | None = Field(default=None, max_length=200)

    _credit_limit = field_validator("credit_limit")(amount_in_currency)

    @model_validator(mode="after")
    def _unique_contacts(self) -> Self:
        ids = [contact.contact_id for contact in self.contacts]
        if len(ids) != len(set(ids)):
            raise ValueError("contacts: contact_id must be unique within an account")
        return self


class Account(AccountProfile):
    account_id: RecordId
    version: int = 1
    created_at: datetime
    updated_at: datetime
    next_review_at: datetime | None = None

    def contact(self, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.contact_id == contact_id), None)

    def profile_with(self, **changes: Any) -> AccountProfile:
        """The account's profile with `changes`, validated: what an update of it writes."""
        fields = self.model_dump(include=set(AccountProfile.model_fields))
        return AccountProfile.model_validate({**fields, **changes})


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class NewInvoice(Record):
    """An invoice as an integrator posts it."""

    account_id: RecordId
    number: RecordId
    issue_date: date
    due_date: date
    currency: Currency
    amount: Decimal = Field(gt=0, description="Total due, tax included, as a decimal string")
    po_number: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    document_key: str | None = Field(default=None, max_length=512)

    _amount = field_validator("amount")(amount_in_currency)

    @model_validator(mode="after")
    def _due_after_issue(self) -> Self:
        if self.due_date < self.issue_date:
            raise ValueError("due_date: must not be before issue_date")
        return self


class Invoice(NewInvoice):
    open_amount: Decimal
    status: InvoiceStatus = InvoiceStatus.OPEN
    version: int = 1
    created_at: datetime
    voided_reason: str | None = None

    _open_amount = field_validator("open_amount")(amount_in_currency)

    @model_validator(mode="after")
    def _open_amount_within_total(self) -> Self:
        if not Decimal(0) <= self.open_amount <= self.amount:
            raise ValueError("open_amount: must be between 0 and the invoice amount")
        return self

    def days_past_due(self, on: date) -> int:
        return (on - self.due_date).days


class NewCreditNote(Record):
    number: RecordId
    issue_date: date
    currency: Currency
    amount: Decimal = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)
    invoice_number: RecordId | None = Field(
        default=None, description="The invoice this credit reduces; unapplied credit if absent"
    )

    _amount = field_validator("amount")(amount_in_currency)


class CreditNote(NewCreditNote):
    account_id: RecordId
    unapplied_amount: Decimal
    created_at: datetime

    _unapplied_amount = field_validator("unapplied_amount")(amount_in_currency)


class PaymentMethod(StrEnum):
    ACH = "ach"
    WIRE = "wire"
    SEPA = "sepa"
    CHECK = "check"
    CARD = "card"
    OTHER = "other"


class AllocationRequest(Record):
    invoice_number: RecordId
    amount: Decimal = Field(gt=0)


class NewPayment(Record):
    """A payment received outside a bank file, optionally with how to apply it."""

    payment_id: RecordId
    received_on: date
    currency: Currency
    amount: Decimal = Field(gt=0)
    method: PaymentMethod = PaymentMethod.OTHER
    reference: str | None = Field(default=None, max_length=140)
    payer_name: str | None = Field(default=None, max_length=140)
    allocations: list[AllocationRequest] = Field(default_factory=list, max_length=100)

    _amount = field_validator("amount")(amount_in_currency)

    @model_validator(mode="after")
    def _allocations_fit(self) -> Self:
        for index, allocation in enumerate(self.allocations):
            try:
                allocation.amount = to_minor_units(allocation.amount, self.currency)
            except ValueError as error:
                raise ValueError(f"allocations[{index}].amount: {error}") from None
        if sum((a.amount for a in self.allocations), Decimal(0)) > self.amount:
            raise ValueError("allocations: together they exceed the payment amount")
        numbers = [a.invoice_number for a in self.allocations]
        if len(numbers) != len(set(numbers)):
            raise ValueError("allocations: each invoice may appear once")
        return self


class Payment(Record):
    account_id: RecordId
    payment_id: RecordId
    received_on: date
    currency: Currency
    amount: Decimal
    method: PaymentMethod
    reference: str | None = None
    payer_name: str | None = None
    unapplied_amount: Decimal
    created_at: datetime

    _amounts = field_validator("amount", "unapplied_amount")(amount_in_currency)


class AllocationSource(StrEnum):
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    WRITE_OFF = "write_off"


class Allocation(Record):
    """Part of a payment or credit note applied to one invoice."""

    account_id: RecordId
    source: AllocationSource
    source_id: RecordId
    invoice_number: RecordId
    currency: Currency
    amount: Decimal
    applied_at: datetime

    _amount = field_validator("amount")(amount_in_currency)


class CaseKind(StrEnum):
    DISPUTE = "dispute"
    DEDUCTION = "deduction"
    PROMISE_TO_PAY = "promise_to_pay"
    PAYMENT_PLAN = "payment_plan"


class CaseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Instalment(Record):
    due_date: date
    amount: Decimal
    paid_amount: Decimal = Decimal(0)


class Case(Record):
    """A dispute, deduction, promise to pay or payment plan that the agent drives to closure."""

    account_id: RecordId
    case_id: RecordId
    kind: CaseKind
    status: CaseStatus = CaseStatus.OPEN
    currency: Currency
    amount: Decimal
    invoice_numbers: list[RecordId] = Field(default_factory=list)
    reason_code: str | None = None
    owner: str | None = None
    promised_date: date | None = None
    payment_method: PaymentMethod | None = Field(
        default=None, description="How a promised payment will be made; cheques take longer"
    )
    instalments: list[Instalment] = Field(default_factory=list)
    summary: str = ""
    opened_at: datetime
    closed_at: datetime | None = None
    version: int = 1

    _amount = field_validator("amount")(amount_in_currency)

    @model_validator(mode="after")
    def _instalments_in_currency(self) -> Self:
        for instalment in self.instalments:
            instalment.amount = to_minor_units(instalment.amount, self.currency)
            instalment.paid_amount = to_minor_units(instalment.paid_amount, self.currency)
        return self


class Touch(Record):
    """One piece of outreach sent to a customer."""

    account_id: RecordId
    touch_id: RecordId
    sent_at: datetime
    channel: str = "email"
    contact_id: RecordId
    template: str
    invoice_numbers: list[RecordId] = Field(default_factory=list)
    cadence_steps: dict[RecordId, int] = Field(
        default_factory=dict,
        description="Per invoice, the days_from_due of the cadence step this touch was for it",
    )
    message_id: str | None = None
    decision_id: str | None = None
