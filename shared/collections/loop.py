"""One decision step on one account: read its state, choose an action, gate it, act, audit the
decision and set the next review.

The pure core (state, candidates, choice) decides; this module reads what it needs, carries the
choice out and commits it together with its audit event and the next review, on condition that
the account is still as it was read. A decision that lost that race raises AccountChanged and is
taken again, from fresh state, when the queue redelivers it.

Each decision has an id derived from the account, the state it was taken on (its review slot,
its records, the signals, the policy version) and the candidate chosen: a redelivered message
that finds the same state takes the same decision, which can ask for the same approval and
record the same email only once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from shared.actions.models import Action
from shared.actions.perform import PreconditionFailed
from shared.actions.proposals import Proposals, ProposalStatus
from shared.approvals.models import Evidence
from shared.approvals.store import ApprovalStore
from shared.audit.log import AuditLog
from shared.audit.models import Actor, ActorKind, Entry
from shared.cases.escalations import ESCALATED
from shared.cases.replies import FOR_A_PERSON
from shared.cases.service import Cases
from shared.clock import Clock
from shared.collections.candidates import (
    Candidate,
    EscalateToPerson,
    Outreach,
    ProposePaymentPlan,
    RequestApproval,
    Wait,
    WriteOffSmallBalance,
    build_candidates,
)
from shared.collections.choose import (
    Choice,
    ChoiceNotOffered,
    Reasoner,
    RulesReasoner,
    ensure_offered,
)
from shared.collections.state import AccountState, Signals, build_state
from shared.collections.store import AccountNotes, CollectionsStore
from shared.collections.timing import MIN_REVIEW_GAP, next_review
from shared.dynamodb import Transaction, TransactionRefused, plain
from shared.ledger.models import Account, Touch
from shared.ledger.service import AccountChanged
from shared.ledger.store import AccountRecords, LedgerStore
from shared.mail.store import MailStore
from shared.outreach.models import OutboxStatus
from shared.outreach.outbox import Outbox
from shared.policy.models import Policy
from shared.policy.source import PolicySource

if TYPE_CHECKING:
    from shared.approvals.settings import ApprovalSettings
    from shared.outreach.settings import OutreachSettings
    from shared.services import Services

AGENT = Actor(kind=ActorKind.AGENT, id="decide")
RECHECK_AFTER = MIN_REVIEW_GAP
"""After acting on the ledger itself, the account is looked at again soon, on fresh state."""
SKIPPED = "skipped"
EMAIL = "email"
QUEUED = "email queued"
ALREADY_DECIDED = "already decided"
EVIDENCE_LINES = 40

logger = Logger(child=True)


@dataclass(frozen=True)
class DecisionOutcome:
    """What one step did, for the handler's log line and metrics."""

    account_id: str
    kind: str
    """The kind of candidate chosen; `skipped`, or `email` when only an earlier email was sent."""
    outcome: str
    decision_id: str | None = None
    next_review_at: datetime | None = None
    emailed: bool = False

    @property
    def decided(self) -> bool:
        return self.kind not in {SKIPPED, EMAIL}


@dataclass(frozen=True)
class _Decision:
    """A choice about to be carried out, with everything its audit event records."""

    decision_id: str
    records: AccountRecords
    state: AccountState
    policy: Policy
    candidates: list[Candidate]
    choice: Choice
    chosen: Candidate

    @property
    def account_id(self) -> str:
        return self.state.account_id

    @property
    def now(self) -> datetime:
        return self.state.now


class DecisionStep:
    def __init__(
        self,
        ledger: LedgerStore,
        notes: CollectionsStore,
        mail: MailStore,
        approvals: ApprovalStore,
        audit: AuditLog,
        policy: PolicySource,
        outbox: Outbox,
        proposals: Callable[[], Proposals],
        cases: Cases,
        clock: Clock,
        reasoner: Reasoner | None = None,
    ) -> None:
        self._ledger = ledger
        self._cases = cases
        self._notes = notes
        self._mail = mail
        self._approvals = approvals
        self._audit = audit
        self._policy = policy
        self._outbox = outbox
        self._proposals = proposals
        self._clock = clock
        self._reasoner = reasoner or RulesReasoner()
        self._rules = RulesReasoner()

    @classmethod
    def from_services(
        cls,
        services: Services,
        outreach: OutreachSettings,
        approvals: ApprovalSettings,
        reasoner: Reasoner | None = None,
    ) -> DecisionStep:
        table = services.settings.ledger_table
        return cls(
            services.ledger.store,
            CollectionsStore(services.dynamodb, table, services.settings.review_shards),
            MailStore(services.dynamodb, table),
            ApprovalStore(services.dynamodb, table),
            services.audit,
            PolicySource(approvals.policy_source),
            Outbox.from_services(services, outreach),
            services.proposals,
            Cases.from_services(services),
            services.clock,
            reasoner,
        )

    def run(self, account_id: str) -> DecisionOutcome:
        """Take the account's next decision, or finish the email its last one queued.

        Raises AccountChanged when the account moved meanwhile, and the outbox's SendRefused or
        SendInProgress when its email could not be sent now; each is worth another delivery.
        """
        notes = self._notes.notes(account_id)
        if notes.pending_email is not None:
            return self._finish_email(account_id, notes.pending_email, EMAIL)
        records = self._ledger.records(account_id)
        review_at = records.account.next_review_at
        if review_at is not None and review_at > self._clock.now():
            return DecisionOutcome(account_id, SKIPPED, "reviewed since it was queued")
        return self._act(self._decide(records, notes))

    def _decide(self, records: AccountRecords, notes: AccountNotes) -> _Decision:
        """Judge the account's promises and plans first (each verdict stored and audited), so
        the decision is taken on them as the ledger now records them."""
        policy = self._policy.current()
        records = self._cases.review(records.account.account_id, policy, records).records
        signals = self._signals(records.account.account_id, notes)
        state = build_state(records, self._clock.now(), policy, signals)
        candidates = build_candidates(state, policy)
        choice, chosen = self._choose(state, candidates)
        decision_id = decision_id_for(records, signals, policy.version, chosen.key)
        return _Decision(decision_id, records, state, policy, candidates, choice, chosen)

    def _choose(
        self, state: AccountState, candidates: Sequence[Candidate]
    ) -> tuple[Choice, Candidate]:
        choice = self._reasoner.choose(state, candidates)
        try:
            return choice, ensure_offered(choice, candidates)
        except ChoiceNotOffered as refused:
            # Whatever a reasoner says, only an offered action is ever carried out.
            logger.warning("reasoner choice refused", reasoner=choice.reasoner, reason=str(refused))
            fallback = self._rules.choose(state, candidates)
            rationale = (
                f"{fallback.rationale} ({choice.reasoner} chose outside the offer: {refused})"
            )
            choice = fallback.model_copy(update={"rationale": rationale})
            return choice, ensure_offered(choice, candidates)

    def _signals(self, account_id: str, notes: AccountNotes) -> Signals:
        messages = self._mail.messages(account_id)
        replies = [m.received_at for m in messages if not m.automated]
        for_a_person = [
            (m.received_at, FOR_A_PERSON[m.interpretation.intent])
            for m in messages
            if m.acted_on and m.interpretation and m.interpretation.intent in FOR_A_PERSON
        ]
        waiting = self._approvals.waiting_on(account_id)
        put_to_people = [notes.escalated_at, *(w.requested_at for w in waiting)]
        return Signals(
            last_reply_at=max(replies, default=None),
            escalated_at=max((t for t in put_to_people if t is not None), default=None),
            pending_approvals=frozenset(w.kind for w in waiting),
            reply_for_a_person=max(for_a_person, default=None),
        )

    def _act(self, decision: _Decision) -> DecisionOutcome:
        chosen = decision.chosen
        if isinstance(chosen, Wait):
            return self._commit(decision, chosen.until, "waiting")
        if isinstance(chosen, EscalateToPerson):
            return self._escalate(decision, chosen.rule, chosen.reason, chosen.context)
        if isinstance(chosen, RequestApproval | WriteOffSmallBalance):
            return self._propose(decision, chosen.action)
        if isinstance(chosen, ProposePaymentPlan):
            return self._propose(decision, chosen.plan, offer=chosen)
        return self._email(decision, chosen)

    def _email(
        self, decision: _Decision, email: Outreach, acted: Account | None = None
    ) -> DecisionOutcome:
        """Record the email with the decision, then send it; respects the chosen send time.

        `acted` is the account as re-read after the decision already acted on the ledger.
        """
        if email.not_before > decision.now:
            return self._commit(decision, email.not_before, "email held for its send time")
        rules = decision.policy.collections
        queued, touch = self._outbox.draft(decision.state, email, decision.decision_id, rules)
        review_at = self._review_after(decision, touch=touch, recheck=acted is not None)
        changes = Transaction()
        self._outbox.stage_queued(changes, queued, touch)
        self._notes.stage_pending_email(changes, decision.account_id, decision.decision_id)
        committed = self._commit(
            decision, review_at, QUEUED, changes, acted, message_id=queued.message_id
        )
        if committed.outcome == ALREADY_DECIDED:
            return committed
        return self._finish_email(decision.account_id, decision.decision_id, email.kind)

    def _finish_email(self, account_id: str, decision_id: str, kind: str) -> DecisionOutcome:
        delivery = self._outbox.deliver(decision_id)
        settled = Transaction()
        self._notes.stage_email_settled(settled, account_id, decision_id)
        with contextlib.suppress(TransactionRefused):  # a concurrent delivery settled it
            self._notes.commit(settled)
        return DecisionOutcome(
            account_id,
            kind,
            f"email {delivery.status.value}",
            decision_id,
            emailed=delivery.status is OutboxStatus.SENT,
        )

    def _escalate(
        self, decision: _Decision, rule: str, reason: str, context: dict[str, str]
    ) -> DecisionOutcome:
        """Put a person onto the account with what they need; noted, so not repeated."""
        changes = Transaction()
        self._notes.stage_escalated(changes, decision.account_id, decision.now, rule)
        escalated = dataclasses.replace(decision.state.signals, escalated_at=decision.now)
        escalation = Entry(
            chain=decision.account_id,
            actor=AGENT,
            action=ESCALATED,
            inputs={"decision_id": decision.decision_id, "rule": rule, "context": context},
            rationale=reason,
            policy_version=decision.policy.version,
            outcome="waiting for a person",
        )
        review_at = self._review_after(decision, signals=escalated)
        return self._commit(
            decision, review_at, "escalated to a person", changes, extra=[escalation]
        )

    def _propose(
        self, decision: _Decision, action: Action, offer: Outreach | None = None
    ) -> DecisionOutcome:
        """Through the one path every action takes: done now, or held for approval."""
        try:
            proposal = self._proposals().propose(
                action,
                decision.choice.rationale,
                AGENT,
                decision.decision_id,
                evidence(decision.state, decision.chosen),
            )
        except PreconditionFailed as stale:
            recheck = decision.now + RECHECK_AFTER
            return self._commit(decision, recheck, f"not carried out: {stale}")
        if proposal.status is ProposalStatus.AWAITING_APPROVAL:
            changes = Transaction()
            rule = proposal.policy_rule or decision.chosen.rule
            self._notes.stage_escalated(changes, decision.account_id, decision.now, rule)
            signals = dataclasses.replace(
                decision.state.signals,
                escalated_at=decision.now,
                pending_approvals=decision.state.signals.pending_approvals | {action.kind},
            )
            review_at = self._review_after(decision, signals=signals)
            return self._commit(
                decision,
                review_at,
                "awaiting approval",
                changes,
                approval_id=proposal.approval_id,
                approval_rule=proposal.policy_rule,
            )
        # Acting moved the account on (and put it up for review): the decision commits on the
        # account as it is now, its premise having been checked again by the performer.
        acted = self._ledger.account(decision.account_id)
        if offer is not None:
            return self._email(decision, offer, acted)
        return self._commit(decision, decision.now + RECHECK_AFTER, "performed", account=acted)

    def _review_after(
        self,
        decision: _Decision,
        touch: Touch | None = None,
        signals: Signals | None = None,
        recheck: bool = False,
    ) -> datetime:
        """The next review, from the state as the decision leaves it."""
        if recheck:
            return decision.now + RECHECK_AFTER
        records = decision.records
        if touch is not None:
            records = dataclasses.replace(records, touches=[*records.touches, touch])
        after = build_state(
            records, decision.now, decision.policy, signals or decision.state.signals
        )
        return next_review(after, decision.policy.collections).at

    def _commit(
        self,
        decision: _Decision,
        review_at: datetime,
        outcome: str,
        changes: Transaction | None = None,
        account: Account | None = None,
        extra: Sequence[Entry] = (),
        **details: Any,
    ) -> DecisionOutcome:
        """The decision's audit event, its other writes and the next review, all or none, on
        condition the account is as read (or as `account`, re-read after acting)."""
        changes = changes or Transaction()
        self._notes.stage_reviewed(changes, account or decision.state.account, review_at)
        entry = decision_entry(decision, outcome, review_at, **details)
        try:
            self._audit.record([entry, *extra], changes)
        except TransactionRefused as refused:
            if self._outbox.store.new_label(decision.decision_id) in refused.failed:
                # The same decision was committed by another delivery of the same message.
                return DecisionOutcome(decision.account_id, SKIPPED, ALREADY_DECIDED)
            if refused.failed:
                raise AccountChanged(decision.account_id, refused.failed) from None
            raise
        return DecisionOutcome(
            decision.account_id,
            decision.chosen.kind,
            outcome,
            decision.decision_id,
            review_at,
        )


def decision_id_for(
    records: AccountRecords, signals: Signals, policy_version: str, candidate_key: str
) -> str:
    """The same account, state, policy and choice always give the same decision id."""
    state = {
        "records": {
            name: plain(getattr(records, name))
            for name in (
                "account",
                "invoices",
                "credit_notes",
                "payments",
                "allocations",
                "cases",
                "touches",
            )
        },
        "signals": {
            "last_reply_at": plain(signals.last_reply_at),
            "escalated_at": plain(signals.escalated_at),
            "pending_approvals": sorted(signals.pending_approvals),
            "reply_for_a_person": plain(signals.reply_for_a_person),
        },
        "policy_version": policy_version,
        "candidate": candidate_key,
    }
    text = json.dumps(state, sort_keys=True, default=str)
    return "dec-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def decision_entry(decision: _Decision, outcome: str, review_at: datetime, **details: Any) -> Entry:
    """The audit event of a decision: what was read, what was offered, what was chosen, why."""
    chosen = decision.chosen
    inputs: dict[str, Any] = {
        "decision_id": decision.decision_id,
        "review_due_at": decision.state.account.next_review_at,
        "state": _state_summary(decision.state),
        "candidates": [
            {"kind": c.kind, "key": c.key, "rule": c.rule, "reason": c.reason}
            for c in decision.candidates
        ],
        "chosen": chosen.model_dump(mode="json"),
        "policy_rule": chosen.rule,
        "reasoner": decision.choice.reasoner,
        "next_review_at": review_at,
        **details,
    }
    return Entry(
        chain=decision.account_id,
        actor=AGENT,
        action="decision.made",
        inputs=inputs,
        rationale=decision.choice.rationale,
        policy_version=decision.policy.version,
        outcome=outcome,
    )


def evidence(state: AccountState, chosen: Candidate) -> list[Evidence]:
    """What an approver (or the person escalated to) sees beside the rationale."""
    invoices = [
        f"{i.number}: {i.open_amount} {i.invoice.currency} open, {i.days_past_due} days past due"
        for i in state.invoices[:EVIDENCE_LINES]
    ]
    if len(state.invoices) > EVIDENCE_LINES:
        invoices.append(f"... and {len(state.invoices) - EVIDENCE_LINES} more")
    history = (
        f"last email {_when(state.last_touch_at)}; last payment "
        f"{state.last_payment_on or 'never'}; last reply {_when(state.signals.last_reply_at)}"
    )
    return [
        Evidence(label="Why now", detail=chosen.reason[:4000]),
        Evidence(
            label="Open invoices",
            detail=("\n".join(invoices) or "none")[:4000],
        ),
        Evidence(label="Contact so far", detail=history),
    ]


def _state_summary(state: AccountState) -> dict[str, Any]:
    return {
        "segment": state.segment,
        "currency": state.currency,
        "open_balance": state.open_balance,
        "overdue_balance": state.overdue_balance,
        "open_invoices": len(state.invoices),
        "due_invoices": [i.number for i in state.due_invoices],
        "pause": state.pause.reason if state.pause else None,
        "touches_last_7_days": state.touches_last_7_days,
        "last_touch_at": state.last_touch_at,
        "last_payment_on": state.last_payment_on,
        "last_reply_at": state.signals.last_reply_at,
        "escalated_at": state.signals.escalated_at,
        "pending_approvals": sorted(state.signals.pending_approvals),
        "recipient": state.recipient.contact_id if state.recipient else None,
    }


def _when(instant: datetime | None) -> str:
    return f"{instant:%Y-%m-%d %H:%M} UTC" if instant is not None else "never"
