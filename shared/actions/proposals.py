"""Proposing an action: carried out at once when the policy allows, else held for approval.

This is the one path every action takes, whoever proposes it (the agent's loop or a person
through the API), so the policy is applied the same way to all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from shared.actions.models import Action, AgencyEscalation, PaymentPlan
from shared.actions.perform import Performer
from shared.approvals.ids import approval_id_for
from shared.approvals.models import ApprovalRequest, Evidence
from shared.approvals.service import ApprovalGate
from shared.audit.models import Actor
from shared.clock import Clock
from shared.ledger.store import LedgerStore
from shared.policy.models import ApprovalRule, Policy
from shared.policy.source import PolicySource


class ProposalStatus(StrEnum):
    PERFORMED = "performed"
    AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True)
class ProposalOutcome:
    status: ProposalStatus
    policy_version: str
    policy_rule: str | None = None
    approval_id: str | None = None
    approvers: tuple[str, ...] = ()


class Proposals:
    def __init__(
        self,
        store: LedgerStore,
        performer: Performer,
        policy: PolicySource,
        approvals: Callable[[], ApprovalGate],
        clock: Clock,
    ) -> None:
        self._store = store
        self._performer = performer
        self._policy = policy
        self._approvals = approvals
        self._clock = clock

    def propose(
        self,
        action: Action,
        rationale: str,
        actor: Actor,
        decision_id: str,
        evidence: list[Evidence] | None = None,
    ) -> ProposalOutcome:
        """Check the action can be done now, then do it or ask for approval, as policy says."""
        policy = self._policy.current()
        self._performer.check(action)
        rule = approval_rule(policy, action)
        if rule is None:
            self._performer.perform(action, actor, rationale, policy_version=policy.version)
            return ProposalOutcome(ProposalStatus.PERFORMED, policy.version)
        account = self._store.account(action.account_id)
        request = ApprovalRequest(
            approval_id=approval_id_for(decision_id),
            decision_id=decision_id,
            account_id=account.account_id,
            account_name=account.name,
            action=action,
            rationale=rationale,
            evidence=evidence or [],
            policy_version=policy.version,
            policy_rule=rule.name,
            approvers=rule.approvers,
            hours_per_approver=rule.hours_per_approver,
            requested_by=actor,
            requested_at=self._clock.now(),
        )
        approval = self._approvals().request(request)
        return ProposalOutcome(
            ProposalStatus.AWAITING_APPROVAL,
            policy.version,
            rule.name,
            approval.approval_id,
            tuple(approval.approvers),
        )


def approval_rule(policy: Policy, action: Action) -> ApprovalRule | None:
    """The rule the action waits under, or None when the agent may carry it out alone.

    A payment plan is also held to the collections section's own limits (instalments and
    amount); an agency escalation always waits for a person.
    """
    if isinstance(action, PaymentPlan):
        return policy.plan_approval(action.amount, action.currency, len(action.instalments))
    if isinstance(action, AgencyEscalation):
        return policy.approval_always(
            action.kind, action.amount, action.currency, "agency escalation"
        )
    return policy.approval_for(action.kind, action.amount, action.currency)
