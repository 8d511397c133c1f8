"""Closing an approval once its execution has an outcome: carry out what was approved, or record
the rejection, the expiry or the failure.

The stored record, not the task's payload, says what was decided: the payload can only report
that no decision arrived (expired) or that something broke (failed). So a decision whose
callback was lost is still carried out when the execution closes the approval. Closing twice
changes nothing: the record keeps the outcome, and an approved action found already performed
in the audit trail is not performed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.actions.perform import Approval, Performer, PreconditionFailed
from shared.approvals.models import ApprovalRequest, ApprovalStatus
from shared.approvals.store import ApprovalStore
from shared.audit.log import AuditLog
from shared.audit.models import Actor, ActorKind, Entry
from shared.clock import Clock
from shared.dynamodb import Transaction, TransactionRefused
from shared.errors import Conflict
from shared.ledger.service import Ledger

if TYPE_CHECKING:
    from shared.services import Services

ACTOR = Actor(kind=ActorKind.SYSTEM, id="execute")
RECENT_EVENTS = 200
"""How far back the account's trail is searched for an action performed by an earlier delivery
of the same task; redeliveries follow within minutes, long before that many events."""
MAX_CAUSE_LENGTH = 1000


class Reported(StrEnum):
    """What the execution reports when it hands the approval over to be closed."""

    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


class Outcome(StrEnum):
    PERFORMED = "performed"
    PRECONDITION_FAILED = "precondition_failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


@dataclass(frozen=True)
class Closing:
    outcome: str
    reason: str = ""


class DecisionNotRecorded(Conflict):
    """The execution reports a decision the record does not hold; nothing is carried out."""


class ApprovalCloser:
    def __init__(self, store: ApprovalStore, audit: AuditLog, ledger: Ledger, clock: Clock) -> None:
        self._store = store
        self._audit = audit
        self._ledger = ledger
        self._clock = clock

    @classmethod
    def from_services(cls, services: Services) -> ApprovalCloser:
        store = ApprovalStore(services.dynamodb, services.settings.ledger_table)
        return cls(store, services.audit, services.ledger, services.clock)

    def close(
        self, approval_id: str, reported: Reported, error: dict[str, Any] | None = None
    ) -> Closing:
        approval = self._store.get(approval_id)
        if approval.outcome is not None:
            return Closing(approval.outcome, "already closed")
        if reported is Reported.FAILED:
            return self._fail(approval, error or {})
        if approval.status is ApprovalStatus.APPROVED:
            return self._perform(approval)
        if approval.status is ApprovalStatus.REJECTED:
            return self._reject(approval)
        if reported is Reported.EXPIRED:
            return self._expire(approval)
        raise DecisionNotRecorded(
            f"approval {approval_id} is {approval.status.value}, not {reported.value}"
        )

    def _perform(self, approval: ApprovalRequest) -> Closing:
        if self._performed_before(approval):
            return self._closed(approval, Outcome.PERFORMED, "performed by an earlier delivery")
        approver = approval.decided_by or approval.current_approver
        try:
            Performer(self._ledger).perform(
                approval.action,
                actor=Actor(kind=ActorKind.APPROVER, id=approver),
                rationale=approval.rationale,
                approval=Approval(approval.approval_id, approver, approval.comment or ""),
                policy_version=approval.policy_version,
            )
        except PreconditionFailed as failed:
            if self._performed_before(approval):
                return self._closed(approval, Outcome.PERFORMED, "performed concurrently")
            entry = self._entry(
                approval, "approval.not_executed", Outcome.PRECONDITION_FAILED, reason=str(failed)
            )
            return self._closed(approval, Outcome.PRECONDITION_FAILED, str(failed), entry)
        return self._closed(approval, Outcome.PERFORMED)

    def _reject(self, approval: ApprovalRequest) -> Closing:
        entry = self._entry(
            approval,
            "approval.rejected",
            Outcome.REJECTED,
            rejected_by=approval.decided_by,
            comment=approval.comment or "",
        )
        return self._closed(approval, Outcome.REJECTED, entry=entry)

    def _expire(self, approval: ApprovalRequest) -> Closing:
        entry = self._entry(
            approval,
            "approval.expired",
            Outcome.EXPIRED,
            asked=approval.approvers[: approval.step + 1],
            lapsed_at=approval.expires_at,
        )
        return self._closed(approval, Outcome.EXPIRED, status=ApprovalStatus.EXPIRED, entry=entry)

    def _fail(self, approval: ApprovalRequest, error: dict[str, Any]) -> Closing:
        name = str(error.get("Error") or "unknown")
        cause = str(error.get("Cause") or "")[:MAX_CAUSE_LENGTH]
        entry = self._entry(approval, "approval.failed", Outcome.FAILED, error=name, cause=cause)
        status = ApprovalStatus.FAILED if approval.status is ApprovalStatus.PENDING else None
        return self._closed(approval, Outcome.FAILED, name, entry, status)

    def _closed(
        self,
        approval: ApprovalRequest,
        outcome: Outcome,
        reason: str = "",
        entry: Entry | None = None,
        status: ApprovalStatus | None = None,
    ) -> Closing:
        """Record the outcome on the approval (with its audit event, if any), once."""
        closed = approval.model_copy(
            update={
                "outcome": outcome.value,
                "closed_at": self._clock.now(),
                "status": status or approval.status,
                "version": approval.version + 1,
            }
        )
        changes = Transaction()
        self._store.stage_change(changes, closed, approval.version)
        self._store.stage_unlisted(changes, approval)
        self._store.stage_token_removed(changes, approval.approval_id)
        try:
            if entry is None:
                self._store.commit(changes)
            else:
                self._audit.record([entry], changes)
        except TransactionRefused:
            current = self._store.get(approval.approval_id)
            if current.outcome is None:
                raise
            return Closing(current.outcome, "closed concurrently")
        return Closing(outcome.value, reason)

    def _performed_before(self, approval: ApprovalRequest) -> bool:
        performed = f"{approval.action.kind.value}.performed"
        recent = self._audit.events(approval.account_id, limit=RECENT_EVENTS, newest_first=True)
        return any(
            event.action == performed
            and (event.inputs.get("approval") or {}).get("approval_id") == approval.approval_id
            for event in recent
        )

    def _entry(
        self, approval: ApprovalRequest, action: str, outcome: Outcome, **inputs: Any
    ) -> Entry:
        return Entry(
            chain=approval.account_id,
            actor=ACTOR,
            action=action,
            inputs={"approval_id": approval.approval_id, **inputs},
            policy_version=approval.policy_version,
            outcome=outcome.value,
        )
