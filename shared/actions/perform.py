"""Carrying out an action: the same code whether the agent acts alone or a person approved it.

Preconditions are checked again at the moment of acting, because an approval can arrive days
after the proposal and the account may have moved meanwhile. Every action is audited as
`<kind>.performed`, with the approval that let it happen; the approval closer looks for that
event to never carry one approval out twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.actions.models import Action, AgencyEscalation, PaymentPlan, WriteOff
from shared.audit.models import Actor, Entry
from shared.cases.book import CaseBook, CaseExists
from shared.cases.escalations import agency_refusal, with_agency
from shared.cases.plans import PlanBook, PlanNotPossible, agreed_entry
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ledger.models import InvoiceStatus
from shared.ledger.service import Ledger


class PreconditionFailed(Conflict):
    """What the action was proposed on has changed; it is not carried out."""


@dataclass(frozen=True)
class Approval:
    """Who approved an action and what they said, recorded with the action itself."""

    approval_id: str
    approver: str
    comment: str = ""


class Performer:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._cases = CaseBook(ledger)
        self._plans = PlanBook(self._cases)

    def check(self, action: Action) -> None:
        """Raise PreconditionFailed if the action could not be carried out now."""
        if isinstance(action, WriteOff):
            self._check_write_off(action)
        elif isinstance(action, PaymentPlan):
            self._check_plan(action)
        else:
            self._check_agency(action)

    def perform(
        self,
        action: Action,
        actor: Actor,
        rationale: str,
        approval: Approval | None = None,
        policy_version: str | None = None,
    ) -> str:
        """Carry the action out and audit it; returns the outcome as recorded."""
        self.check(action)
        entry = _performed(action, actor, rationale, approval, policy_version)
        try:
            if isinstance(action, WriteOff):
                return self._write_off(action, entry)
            if isinstance(action, PaymentPlan):
                return self._agree_plan(action, entry)
            return self._hand_to_agency(action, entry)
        except (Conflict, InvalidInput) as error:
            raise PreconditionFailed(str(error)) from None

    def _write_off(self, action: WriteOff, entry: Entry) -> str:
        entry = entry.model_copy(update={"outcome": "written off"})
        self._ledger.write_off(action.account_id, action.invoice_number, action.amount, entry)
        return entry.outcome

    def _agree_plan(self, action: PaymentPlan, entry: Entry) -> str:
        """Open the plan as a case; sending the customer the agreed schedule is outreach's."""
        case = self._plans.plan_case(action)
        entry = entry.model_copy(update={"outcome": f"agreed as case {case.case_id}"})
        try:
            self._cases.open(case, [entry, agreed_entry(case, entry)])
        except CaseExists as exists:
            agreed = exists.stored.case_id
            raise PreconditionFailed(f"the plan is already agreed as case {agreed}") from None
        return entry.outcome

    def _hand_to_agency(self, action: AgencyEscalation, entry: Entry) -> str:
        entry = entry.model_copy(update={"outcome": "with the collection agency; account on hold"})
        account = self._ledger.store.account(action.account_id)
        self._ledger.update_account(
            account.account_id,
            with_agency(account, action),
            account.version,
            entry.actor,
            also=[entry],
        )
        return entry.outcome

    def _check_write_off(self, action: WriteOff) -> None:
        try:
            invoice = self._ledger.store.invoice(action.account_id, action.invoice_number)
        except NotFound as error:
            raise PreconditionFailed(str(error)) from None
        if invoice.status is not InvoiceStatus.OPEN:
            raise PreconditionFailed(f"invoice {invoice.number} is {invoice.status.value}")
        if invoice.open_amount != action.amount or invoice.currency != action.currency:
            raise PreconditionFailed(
                f"invoice {invoice.number} has {invoice.open_amount} {invoice.currency} open, "
                f"the action was for {action.amount} {action.currency}"
            )

    def _check_plan(self, action: PaymentPlan) -> None:
        try:
            self._plans.check(action)
        except (NotFound, PlanNotPossible) as error:
            raise PreconditionFailed(str(error)) from None

    def _check_agency(self, action: AgencyEscalation) -> None:
        try:
            records = self._ledger.store.records(action.account_id)
        except NotFound as error:
            raise PreconditionFailed(str(error)) from None
        refusal = agency_refusal(action, records)
        if refusal is not None:
            raise PreconditionFailed(refusal)


def _performed(
    action: Action,
    actor: Actor,
    rationale: str,
    approval: Approval | None,
    policy_version: str | None,
) -> Entry:
    inputs: dict[str, object] = action.model_dump(mode="json")
    if approval is not None:
        inputs["approval"] = {
            "approval_id": approval.approval_id,
            "approver": approval.approver,
            "comment": approval.comment,
        }
    return Entry(
        chain=action.account_id,
        actor=actor,
        action=f"{action.kind.value}.performed",
        inputs=inputs,
        rationale=rationale,
        policy_version=policy_version,
    )
