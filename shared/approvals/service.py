"""The approval gate: an action the policy reserves for people waits here for their decision.

`request` stores the approval and starts its Step Functions execution; the execution's tasks
call `await_decision` (each time an approver is asked) and `escalate` (each time one lets the
deadline pass); the approval page calls `decide`. Every change is a conditional write committed
together with its audit event, so a decision is taken once, by the approver asked at the time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from shared.approvals.errors import AlreadyDecided, NotAwaitingApprover, StaleTask
from shared.approvals.ids import check_approval_id
from shared.approvals.models import (
    SECONDS_PER_HOUR,
    ApprovalRequest,
    ApprovalStatus,
    Decision,
)
from shared.approvals.store import ApprovalStore
from shared.audit.log import AuditLog
from shared.audit.models import Actor, ActorKind, Entry
from shared.clock import Clock
from shared.dynamodb import Transaction, TransactionRefused
from shared.errors import ConfigurationError, InvalidInput
from shared.policy.source import PolicySource

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from shared.approvals.settings import ApprovalSettings
    from shared.services import Services

MAX_COMMENT_LENGTH = 2000
ACTOR = Actor(kind=ActorKind.SYSTEM, id="approvals")

logger = Logger(child=True)

_ALREADY_RUNNING = "ExecutionAlreadyExists"


@dataclass(frozen=True)
class Escalation:
    """What the execution does after an approver let the deadline pass."""

    expired: bool
    next_step: int | None = None
    timeout_seconds: int | None = None

    def task_result(self) -> dict[str, Any]:
        """The escalate task's result, as the state machine's ChainRunOut choice reads it."""
        if self.expired:
            return {"expired": True}
        return {
            "expired": False,
            "next_step": self.next_step,
            "timeout_seconds": self.timeout_seconds,
        }


@dataclass(frozen=True)
class Requesting:
    """What starting approvals needs, beyond what deciding and the execution's tasks need."""

    state_machine_arn: str
    policy: PolicySource
    seconds_per_hour: int = SECONDS_PER_HOUR
    """Seconds an approver gets per hour of `hours_per_approver`; only tests and simulations
    shrink it, so that a chain of deadlines runs out in seconds."""


class ApprovalGate:
    def __init__(
        self,
        store: ApprovalStore,
        audit: AuditLog,
        clock: Clock,
        stepfunctions: SFNClient,
        requesting: Requesting | None = None,
    ) -> None:
        self.store = store
        self._audit = audit
        self._clock = clock
        self._stepfunctions = stepfunctions
        self._requesting = requesting

    @classmethod
    def from_services(
        cls,
        services: Services,
        settings: ApprovalSettings | None = None,
        *,
        seconds_per_hour: int = SECONDS_PER_HOUR,
    ) -> ApprovalGate:
        """A gate on the services' table and clock; without settings it cannot `request`."""
        requesting = None
        if settings is not None:
            policy = PolicySource(settings.policy_source)
            requesting = Requesting(settings.state_machine_arn, policy, seconds_per_hour)
        return cls(
            ApprovalStore(services.dynamodb, services.settings.ledger_table),
            services.audit,
            services.clock,
            boto3.client("stepfunctions"),
            requesting,
        )

    def request(self, request: ApprovalRequest) -> ApprovalRequest:
        """Store the approval and start its execution; asking again changes nothing.

        The approvers asked are the request's, in order, then the policy's fallback approver
        (unless already among them); each gets `hours_per_approver` to decide.
        """
        requesting = self._requesting_or_refuse()
        check_approval_id(request.approval_id)
        approval = self.store.find(request.approval_id) or self._store_new(request, requesting)
        if approval.status is ApprovalStatus.PENDING:
            self._start(approval, requesting)
        return approval

    def await_decision(self, approval_id: str, task_token: str, step: int) -> ApprovalRequest:
        """Keep the token the execution waits on for this step and start the step's deadline.

        A redelivered task replaces the token but keeps the deadline it was first given.
        """
        approval = self.store.get(approval_id)
        _check_current(approval, step)
        changes = Transaction()
        asked = approval
        if approval.expires_at is None:
            deadline = self._clock.now() + timedelta(seconds=approval.seconds_per_approver)
            asked = _next_version(approval, expires_at=deadline)
            self.store.stage_change(changes, asked, approval.version)
        else:
            self.store.stage_unchanged(changes, approval)
        self.store.stage_token(changes, approval_id, step, task_token)
        try:
            self.store.commit(changes)
        except TransactionRefused:
            # Decided or escalated meanwhile: report what it is now.
            _check_current(self.store.get(approval_id), step)
            raise
        return asked

    def escalate(self, approval_id: str, step: int) -> Escalation:
        """Move on from an approver whose deadline passed: to the next one, or expire.

        An approval decided meanwhile also reports `expired`: the execution then closes it, and
        closing carries out the decision it finds recorded.
        """
        approval = self.store.get(approval_id)
        if approval.status is not ApprovalStatus.PENDING:
            return Escalation(expired=True)
        if approval.step > step:  # a redelivered escalation that already moved on
            return Escalation(False, approval.step, approval.seconds_per_approver)
        _check_current(approval, step)
        if step + 1 >= len(approval.approvers):
            return Escalation(expired=True)
        moved = _next_version(approval, step=step + 1, expires_at=None)
        changes = Transaction()
        self.store.stage_change(changes, moved, approval.version)
        self.store.stage_token_removed(changes, approval_id)
        entry = _entry(
            approval,
            ACTOR,
            "approval.escalated",
            outcome="escalated",
            step=moved.step,
            lapsed_approver=approval.current_approver,
            lapsed_at=approval.expires_at,
            next_approver=moved.current_approver,
        )
        try:
            self._audit.record([entry], changes)
        except TransactionRefused:
            return self.escalate(approval_id, step)  # decided meanwhile: re-read and report
        return Escalation(False, moved.step, moved.seconds_per_approver)

    def decide(
        self,
        approval_id: str,
        approver: str,
        decision: Decision,
        comment: str | None = None,
        via: str = "link",
    ) -> ApprovalRequest:
        """Record the decision of the approver asked now, then hand it to the execution.

        Raises AlreadyDecided once anyone has decided (or the approval closed) and
        NotAwaitingApprover for anyone but the approver asked now, before they are asked, or
        after their deadline. Only the first of two concurrent decisions is recorded and sent.
        """
        if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
            raise InvalidInput("comment", f"at most {MAX_COMMENT_LENGTH} characters")
        approval = self.store.get(approval_id)
        self._check_decidable(approval, approver)
        token = self.store.task_token(approval_id, approval.step)
        if token is None:
            # Taken by a decision that committed since the read, or nobody was asked yet.
            self._check_decidable(self.store.get(approval_id), approver)
            raise NotAwaitingApprover(approval_id, "has not asked anyone yet")
        decided = self._record_decision(approval, decision, comment or None, via)
        self._send_result(token, decided)
        return decided

    def get(self, approval_id: str) -> ApprovalRequest:
        return self.store.get(approval_id)

    def pending(self) -> list[ApprovalRequest]:
        return self.store.pending()

    def _requesting_or_refuse(self) -> Requesting:
        if self._requesting is None:
            raise ConfigurationError(
                "this function cannot request approvals: it was built without "
                "APPROVAL_STATE_MACHINE_ARN and POLICY_SOURCE"
            )
        return self._requesting

    def _store_new(self, request: ApprovalRequest, requesting: Requesting) -> ApprovalRequest:
        fallback = requesting.policy.current().approvals.fallback_approver
        approval = ApprovalRequest.model_validate(
            {
                **request.model_dump(
                    exclude={"decided_by", "decided_at", "comment", "decided_via", "closed_at"}
                ),
                "approvers": approval_chain(request.approvers, fallback),
                "step": 0,
                "status": ApprovalStatus.PENDING,
                "ask_seconds": request.hours_per_approver * requesting.seconds_per_hour,
                "expires_at": None,
                "outcome": None,
                "version": 1,
            }
        )
        changes = Transaction()
        self.store.stage_new(changes, approval)
        entry = _entry(
            approval,
            approval.requested_by,
            "approval.requested",
            outcome="pending",
            rationale=approval.rationale,
            decision_id=approval.decision_id,
            action={**approval.action.model_dump(), "amount": str(approval.action.amount)},
            approvers=approval.approvers,
            policy_rule=approval.policy_rule,
            hours_per_approver=approval.hours_per_approver,
            evidence=[item.model_dump() for item in approval.evidence],
        )
        try:
            self._audit.record([entry], changes)
        except TransactionRefused:
            return self.store.get(approval.approval_id)  # requested concurrently: that one stands
        return approval

    def _start(self, approval: ApprovalRequest, requesting: Requesting) -> None:
        # Always the first step's input: a second start of a running execution is then the same
        # request, which Step Functions answers with the running execution.
        execution_input = {
            "approval_id": approval.approval_id,
            "step": 0,
            "timeout_seconds": approval.seconds_per_approver,
        }
        try:
            self._stepfunctions.start_execution(
                stateMachineArn=requesting.state_machine_arn,
                name=approval.approval_id,
                input=json.dumps(execution_input),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _ALREADY_RUNNING:
                raise
            logger.info("approval execution already started", approval_id=approval.approval_id)

    def _check_decidable(self, approval: ApprovalRequest, approver: str) -> None:
        if approval.status is not ApprovalStatus.PENDING:
            raise AlreadyDecided(approval.approval_id, approval.status.value)
        if approver.strip().lower() != approval.current_approver:
            raise NotAwaitingApprover(approval.approval_id, "is waiting for another approver")
        if approval.expires_at is None:
            raise NotAwaitingApprover(approval.approval_id, "has not asked anyone yet")
        if self._clock.now() >= approval.expires_at:
            raise NotAwaitingApprover(approval.approval_id, "is past this approver's deadline")

    def _record_decision(
        self, approval: ApprovalRequest, decision: Decision, comment: str | None, via: str
    ) -> ApprovalRequest:
        approved = decision is Decision.APPROVE
        decided = _next_version(
            approval,
            status=ApprovalStatus.APPROVED if approved else ApprovalStatus.REJECTED,
            decided_by=approval.current_approver,
            decided_at=self._clock.now(),
            comment=comment,
            decided_via=via,
        )
        changes = Transaction()
        self.store.stage_change(changes, decided, approval.version)
        self.store.stage_unlisted(changes, approval)
        self.store.stage_token_removed(changes, approval.approval_id)
        entry = _entry(
            approval,
            Actor(kind=ActorKind.APPROVER, id=approval.current_approver),
            "approval.decided",
            outcome=decided.status.value,
            rationale=comment or "",
            decision=decision.value,
            step=approval.step,
            via=via,
        )
        try:
            self._audit.record([entry], changes)
        except TransactionRefused:
            # Someone decided, or the deadline moved the approval on, since it was read.
            self._check_decidable(self.store.get(approval.approval_id), approval.current_approver)
            raise
        return decided

    def _send_result(self, token: str, decided: ApprovalRequest) -> None:
        """Hand the decision to the waiting execution.

        If that fails the decision still stands: the execution finds it recorded when the
        approver's deadline passes, and closing the approval carries it out then.
        """
        result = {
            "outcome": decided.status.value,
            "approver": decided.decided_by,
            "comment": decided.comment or "",
        }
        try:
            self._stepfunctions.send_task_success(taskToken=token, output=json.dumps(result))
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "decision not delivered to the execution",
                approval_id=decided.approval_id,
                error=_error_code(error),
            )


def approval_chain(approvers: list[str], fallback: str) -> list[str]:
    """Who is asked, in order: the rule's approvers, then the fallback unless already asked."""
    chain: list[str] = []
    for approver in [*approvers, fallback]:
        address = approver.strip().lower()
        if address not in chain:
            chain.append(address)
    return chain


def _error_code(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__


def _check_current(approval: ApprovalRequest, step: int) -> None:
    if approval.status is not ApprovalStatus.PENDING:
        raise AlreadyDecided(approval.approval_id, approval.status.value)
    if approval.step != step:
        raise StaleTask(approval.approval_id, step, approval.step)


def _next_version(approval: ApprovalRequest, **changes: Any) -> ApprovalRequest:
    return approval.model_copy(update={**changes, "version": approval.version + 1})


def _entry(
    approval: ApprovalRequest,
    actor: Actor,
    event: str,
    *,
    outcome: str,
    rationale: str = "",
    **inputs: Any,
) -> Entry:
    return Entry(
        chain=approval.account_id,
        actor=actor,
        action=event,
        inputs={"approval_id": approval.approval_id, **inputs},
        rationale=rationale,
        policy_version=approval.policy_version,
        outcome=outcome,
    )
