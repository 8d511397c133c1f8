"""Carrying out an action: the same code whether the agent acts alone or a person approved it.

Preconditions are checked again at the moment of acting, because an approval can arrive days
after the proposal and the account may have moved meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.actions.models import Action, WriteOff
from shared.audit.models import Actor, Entry
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

    def check(self, action: Action) -> None:
        """Raise PreconditionFailed if the action could not be carried out now."""
        if isinstance(action, WriteOff):
            self._check_write_off(action)

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
        inputs: dict[str, object] = {**action.model_dump(), "amount": str(action.amount)}
        if approval is not None:
            inputs["approval"] = {
                "approval_id": approval.approval_id,
                "approver": approval.approver,
                "comment": approval.comment,
            }
        entry = Entry(
            chain=action.account_id,
            actor=actor,
            action=f"{action.kind.value}.performed",
            inputs=inputs,
            rationale=rationale,
            policy_version=policy_version,
            outcome="written off",
        )
        try:
            self._ledger.write_off(action.account_id, action.invoice_number, action.amount, entry)
        except (Conflict, InvalidInput) as error:
            raise PreconditionFailed(str(error)) from None
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
