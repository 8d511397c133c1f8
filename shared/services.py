"""The composition root: the clients and services a handler uses, built once per cold start.

Handlers ask `current()`; the local runtime and tests install their own with `use()`, for
example to put a simulated clock behind every handler. Approval pieces are built on first use,
so a function that takes no part in approvals needs none of their settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import boto3

from shared.audit.log import AuditLog
from shared.clock import Clock, SystemClock
from shared.ledger.service import Ledger
from shared.ledger.store import LedgerStore
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from shared.actions.proposals import Proposals
    from shared.approvals.execution import ApprovalCloser
    from shared.approvals.mail import ApprovalMailer
    from shared.approvals.service import ApprovalGate
    from shared.collections.loop import DecisionStep
    from shared.collections.sweep import ReviewSweep

PieceT = TypeVar("PieceT")


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    dynamodb: DynamoDBClient
    audit: AuditLog
    ledger: Ledger
    s3: S3Client
    _pieces: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Services:
        clock = clock or SystemClock()
        dynamodb = boto3.client("dynamodb")
        audit = AuditLog(dynamodb, settings.audit_table, clock)
        store = LedgerStore(dynamodb, settings.ledger_table, settings.review_shards)
        ledger = Ledger(store, audit, clock)
        return cls(settings, clock, dynamodb, audit, ledger, boto3.client("s3"))

    def approvals(self) -> ApprovalGate:
        """The approval gate, from ApprovalSettings (APPROVAL_*, SENDER_ADDRESS, POLICY_SOURCE)."""
        from shared.approvals.service import ApprovalGate
        from shared.approvals.settings import ApprovalSettings

        return self._piece(
            "approvals", lambda: ApprovalGate.from_services(self, ApprovalSettings.from_env())
        )

    def approval_tasks(self) -> ApprovalGate:
        """The gate as the approval execution's tasks use it: it needs no settings of its own,
        and cannot start executions."""
        from shared.approvals.service import ApprovalGate

        return self._piece("approval_tasks", lambda: ApprovalGate.from_services(self))

    def approval_mailer(self) -> ApprovalMailer:
        """What emails approvers, from ApprovalMailSettings."""
        from shared.approvals.mail import ApprovalMailer
        from shared.approvals.settings import ApprovalMailSettings

        return self._piece(
            "approval_mailer",
            lambda: ApprovalMailer.from_services(self, ApprovalMailSettings.from_env()),
        )

    def approval_closer(self) -> ApprovalCloser:
        from shared.approvals.execution import ApprovalCloser

        return self._piece("approval_closer", lambda: ApprovalCloser.from_services(self))

    def proposals(self) -> Proposals:
        """Where actions are proposed: done at once within policy, else held for approval."""
        from shared.actions.perform import Performer
        from shared.actions.proposals import Proposals
        from shared.approvals.settings import ApprovalSettings
        from shared.policy.source import PolicySource

        def build() -> Proposals:
            policy = PolicySource(ApprovalSettings.from_env().policy_source)
            performer = Performer(self.ledger)
            return Proposals(self.ledger.store, performer, policy, self.approvals, self.clock)

        return self._piece("proposals", build)

    def review_sweep(self) -> ReviewSweep:
        """What queues due accounts for a decision, from SweepSettings (DECIDE_QUEUE_URL)."""
        from shared.collections.sweep import ReviewSweep, SweepSettings

        return self._piece(
            "review_sweep", lambda: ReviewSweep.from_services(self, SweepSettings.from_env())
        )

    def decision_step(self) -> DecisionStep:
        """One collections decision per account, from OutreachSettings (SENDER_ADDRESS,
        SENDER_NAME, MAIL_DOMAIN, SES_CONFIGURATION_SET) and ApprovalSettings, both read here so
        a missing one stops the function at its first invocation, naming what is missing."""
        from shared.approvals.settings import ApprovalSettings
        from shared.collections.loop import DecisionStep
        from shared.outreach.settings import OutreachSettings

        return self._piece(
            "decision_step",
            lambda: DecisionStep.from_services(
                self, OutreachSettings.from_env(), ApprovalSettings.from_env()
            ),
        )

    def use_approval_gate(self, gate: ApprovalGate) -> None:
        """Serve `approvals()` with this gate: a simulation's, whose deadlines run on scaled time
        (ApprovalGate.from_services(..., seconds_per_hour=...))."""
        with _pieces_lock:
            self._pieces["approvals"] = gate

    def _piece(self, name: str, build: Callable[[], PieceT]) -> PieceT:
        with _pieces_lock:
            if name not in self._pieces:
                self._pieces[name] = build()
            piece: PieceT = self._pieces[name]
            return piece


_current: Services | None = None
_lock = threading.Lock()
_pieces_lock = threading.RLock()


def current() -> Services:
    """The installed services, or ones built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Services.build(Settings.from_env())
        return _current


def use(services: Services | None) -> None:
    """Install services for every handler in this process; None goes back to the environment."""
    global _current
    with _lock:
        _current = services
