"""What the integrator API accepts and answers, where it differs from the ledger's own models.

Request bodies reuse the ledger models and add only what the URL does not carry (an account id
on create, a version on update); responses hold every amount at its currency's minor unit, which
JSON renders as a decimal string such as "1200.00".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.actions.models import Action
from shared.actions.proposals import ProposalOutcome, ProposalStatus
from shared.approvals.models import ApprovalRequest, ApprovalStatus, Decision
from shared.audit.models import Actor, AuditEvent
from shared.ledger.models import (
    Account,
    AccountProfile,
    Case,
    Contact,
    Email,
    Invoice,
    NewInvoice,
    RecordId,
)
from shared.ledger.service import MAX_INVOICE_BATCH, AccountView
from shared.money import to_minor_units

MAX_AUDIT_PAGE = 500


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, for example invoices[3].amount")
    reason: str


class ErrorBody(BaseModel):
    """Every error the API answers with, whatever its status."""

    error: str = Field(
        description="A stable code: invalid_input, malformed_json, not_found, conflict, "
        "idempotency_key_reused, idempotency_key_in_progress or internal_error"
    )
    message: str
    fields: list[FieldError] = Field(default_factory=list)


class NewAccount(AccountProfile):
    """A customer account as an integrator creates it."""

    account_id: RecordId


class AccountUpdate(AccountProfile):
    """The full profile to store, and the version it was read at (optimistic locking)."""

    version: int = Field(ge=1, description="The account's version when you read it")


class ContactDetails(Contact):
    """A contact as sent to the contact's own URL, which names it."""

    contact_id: RecordId | None = Field(  # type: ignore[assignment]
        default=None, description="Optional; when sent it must equal the contact_id in the path"
    )


class AccountInvoice(NewInvoice):
    """An invoice posted under its account's URL."""

    account_id: RecordId | None = Field(  # type: ignore[assignment]
        default=None, description="Optional; when sent it must equal the account_id in the path"
    )


class InvoiceBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoices: list[NewInvoice] = Field(
        min_length=1,
        max_length=MAX_INVOICE_BATCH,
        description="Stored all together or not at all; may span several accounts",
    )


class StoredInvoices(BaseModel):
    invoices: list[Invoice]


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500)


class Balances(BaseModel):
    open: Decimal = Field(description="Still owed on open invoices")
    overdue: Decimal = Field(description="The part of `open` that is past its due date")
    unapplied_credit: Decimal = Field(
        description="Credit notes and payments received but not yet applied to an invoice"
    )


class TimelineEntry(BaseModel):
    sequence: int
    at: datetime
    actor: Actor
    action: str
    inputs: dict[str, Any]
    rationale: str
    outcome: str


class AccountOverview(BaseModel):
    """An account as a collector reads it: what is open, how old, what is going on, and why."""

    account: Account
    open_invoices: list[Invoice]
    aging: dict[str, Decimal] = Field(description="Open amount per days-past-due bucket")
    balances: Balances
    open_cases: list[Case]
    next_review_at: datetime | None
    timeline: list[TimelineEntry] = Field(description="The most recent events, newest first")

    @classmethod
    def of(cls, view: AccountView) -> AccountOverview:
        currency = view.account.currency

        def money(amount: Decimal) -> Decimal:
            return to_minor_units(amount, currency)

        return cls(
            account=view.account,
            open_invoices=view.open_invoices,
            aging={bucket: money(amount) for bucket, amount in view.aging.items()},
            balances=Balances(
                open=money(view.open_balance),
                overdue=money(view.overdue_balance),
                unapplied_credit=money(view.unapplied_credit),
            ),
            open_cases=view.cases,
            next_review_at=view.account.next_review_at,
            timeline=[
                TimelineEntry.model_validate(event, from_attributes=True) for event in view.timeline
            ],
        )


class AuditPage(BaseModel):
    account_id: str
    events: list[AuditEvent] = Field(description="In sequence order, each linked to the one before")
    next_after: int | None = Field(
        description="Pass as `after` to read the next page; null once a page comes back short"
    )


class WriteOffRequest(BaseModel):
    """Write off what is open on one invoice; the policy decides whether a person must agree."""

    model_config = ConfigDict(extra="forbid")

    invoice_number: RecordId
    amount: Decimal = Field(gt=0, description="Exactly the invoice's open amount, as a string")
    reason: str = Field(min_length=1, max_length=500)


class CaseList(BaseModel):
    account_id: str
    cases: list[Case]


class ProposalAnswer(BaseModel):
    status: ProposalStatus = Field(description="performed, or awaiting_approval")
    policy_version: str
    policy_rule: str | None = Field(default=None, description="The rule that requires approval")
    approval_id: str | None = None
    approvers: list[str] = Field(default_factory=list, description="Asked in this order")

    @classmethod
    def of(cls, outcome: ProposalOutcome) -> ProposalAnswer:
        return cls(
            status=outcome.status,
            policy_version=outcome.policy_version,
            policy_rule=outcome.policy_rule,
            approval_id=outcome.approval_id,
            approvers=list(outcome.approvers),
        )


class ApprovalSummary(BaseModel):
    """An approval as an integrator's tool shows it; the task token is never part of it."""

    approval_id: str
    account_id: str
    account_name: str
    action: Action
    rationale: str
    policy_rule: str
    policy_version: str
    status: ApprovalStatus
    waiting_for: str | None
    expires_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None

    @classmethod
    def of(cls, approval: ApprovalRequest) -> ApprovalSummary:
        pending = approval.status is ApprovalStatus.PENDING
        return cls(
            **approval.model_dump(
                include={
                    "approval_id",
                    "account_id",
                    "account_name",
                    "rationale",
                    "policy_rule",
                    "policy_version",
                    "status",
                    "expires_at",
                    "decided_by",
                    "decided_at",
                    "comment",
                }
            ),
            action=approval.action,
            waiting_for=approval.current_approver if pending else None,
        )


class ApprovalList(BaseModel):
    approvals: list[ApprovalSummary]


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approver: Email = Field(description="The approver deciding, as the policy names them")
    decision: Decision
    comment: str | None = Field(default=None, max_length=2000)
