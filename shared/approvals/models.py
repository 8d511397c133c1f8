"""An approval request from proposal to decision, as stored and as shown to approvers.

The Step Functions task token lives only in the stored record: it is never put in a link, an
email, a log line or an API response. Links carry the opaque approval id and a signature.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.actions.models import Action
from shared.audit.models import Actor


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    """Something broke that retries did not fix before anyone decided; the audit says what."""


SECONDS_PER_HOUR = 3600


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Evidence(BaseModel):
    """Something an approver should see before deciding: an invoice, the customer's words."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(max_length=200)
    detail: str = Field(max_length=4000, description="Shown as text, never as markup")


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approval_id: str = Field(description="Opaque; derived from the decision id")
    decision_id: str
    account_id: str
    account_name: str
    action: Action
    rationale: str
    evidence: list[Evidence] = Field(default_factory=list)
    policy_version: str
    policy_rule: str
    approvers: list[str] = Field(min_length=1, description="In the order they are asked")
    step: int = Field(default=0, ge=0, description="Index of the approver asked now")
    hours_per_approver: int
    ask_seconds: int | None = Field(
        default=None,
        ge=1,
        description="How long each approver has, fixed when requested: hours_per_approver in "
        "seconds, unless the gate runs on scaled time (tests, simulations)",
    )
    requested_by: Actor
    requested_at: datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    expires_at: datetime | None = Field(default=None, description="When the current ask lapses")
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    decided_via: str | None = Field(default=None, description="Where the decision was taken")
    outcome: str | None = Field(
        default=None,
        description="What came of it, once closed: performed, precondition_failed, rejected, "
        "expired or failed",
    )
    closed_at: datetime | None = None
    version: int = 1

    @property
    def current_approver(self) -> str:
        return self.approvers[min(self.step, len(self.approvers) - 1)]

    @property
    def seconds_per_approver(self) -> int:
        return self.ask_seconds or self.hours_per_approver * SECONDS_PER_HOUR
