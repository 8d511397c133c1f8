"""Choosing one action among the candidates: the Reasoner interface and the rules that always work.

A reasoner only ever picks from what it is offered. Whatever it returns is checked with
`ensure_offered` before anything is done with it, so a model that invents an action, or is
talked into one by a customer's email, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.collections.candidates import (
    Candidate,
    EscalateToPerson,
    ProposePaymentPlan,
    RequestApproval,
    SendFinalNotice,
    SendReminder,
    SendStatement,
    Wait,
    WriteOffSmallBalance,
)
from shared.collections.state import AccountState
from shared.errors import AutoarError


class Choice(BaseModel):
    """The candidate chosen, exactly as offered, and why; audited with the candidates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidate: Candidate
    rationale: str = Field(min_length=1, max_length=4000)
    reasoner: str = Field(description="rules, or the model that chose")

    @property
    def key(self) -> str:
        return self.candidate.key


class Reasoner(Protocol):
    name: str

    def choose(self, state: AccountState, candidates: Sequence[Candidate]) -> Choice:
        """One of `candidates`, unchanged, with the reason for it."""
        ...


class ChoiceNotOffered(AutoarError):
    """A reasoner returned something that was not among the candidates it was given."""


def ensure_offered(choice: Choice, offered: Sequence[Candidate]) -> Candidate:
    """The offered candidate the choice names; raises unless it is exactly one that was offered.

    Compared whole, not by key, so no parameter (an amount, an invoice, a date) can have been
    changed on the way through a reasoner.
    """
    match = next((c for c in offered if c.key == choice.key), None)
    if match is None or match != choice.candidate:
        raise ChoiceNotOffered(f"{choice.key} was not offered as chosen")
    return match


_PRIORITY: tuple[type[BaseModel], ...] = (
    RequestApproval,
    EscalateToPerson,
    WriteOffSmallBalance,
    SendFinalNotice,
    SendReminder,
    ProposePaymentPlan,
    SendStatement,
    Wait,
)
"""What the rules do first: put a person on what needs one, clear small balances (so no email
lists an invoice about to be written off), then the most pressing email, then wait."""


class RulesReasoner:
    """Deterministic, always available: used without a model, when one fails, and in tests."""

    name = "rules"

    def choose(self, state: AccountState, candidates: Sequence[Candidate]) -> Choice:
        if not candidates:
            raise ValueError("nothing to choose from; candidates always include a Wait")
        chosen = min(candidates, key=_rank)
        return Choice(candidate=chosen, rationale=_rationale(chosen), reasoner=self.name)


def _rank(candidate: Candidate) -> tuple[int, int]:
    tone = candidate.tone.rank if isinstance(candidate, SendReminder) else 0
    return _PRIORITY.index(type(candidate)), -tone


def _rationale(chosen: Candidate) -> str:
    if isinstance(chosen, Wait):
        return (
            f"Nothing is due now; next look at {chosen.until:%Y-%m-%d %H:%M} UTC: {chosen.reason}."
        )
    if isinstance(chosen, SendReminder | SendFinalNotice):
        return (
            f"Sending one {chosen.tone.value.replace('_', ' ')} email for "
            f"{len(chosen.invoice_numbers)} invoice(s) ({', '.join(chosen.invoice_numbers)}) "
            f"under {chosen.rule}: {chosen.reason}."
        )
    return f"{_LABELS[type(chosen)]} under {chosen.rule}: {chosen.reason}."


_LABELS: dict[type[BaseModel], str] = {
    RequestApproval: "Asking for approval first",
    EscalateToPerson: "Handing the account to a person",
    WriteOffSmallBalance: "Writing off a small balance",
    ProposePaymentPlan: "Offering a payment plan",
    SendStatement: "Sending a statement",
}
