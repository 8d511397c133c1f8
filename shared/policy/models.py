"""The policy document: versioned, validated, and the only source of what the agent may do.

Approval rules are written in the policy's base currency; an action in another currency is
converted with the policy's own rates, so thresholds mean the same whatever the invoice's
currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.actions.models import ActionKind
from shared.ledger.models import Email
from shared.money import Currency


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalRule(Frozen):
    """Actions of one kind within an amount band wait for these approvers, in this order."""

    name: str = Field(min_length=1, max_length=80, description="Quoted to approvers and audited")
    action: ActionKind
    min_amount: Decimal = Field(default=Decimal(0), ge=0, description="In the base currency")
    max_amount: Decimal | None = Field(default=None, gt=0, description="Exclusive; none = open")
    approvers: list[Email] = Field(min_length=1, max_length=10)
    hours_per_approver: int = Field(default=48, ge=1, le=24 * 30)

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.max_amount is not None and self.max_amount <= self.min_amount:
            raise ValueError("max_amount must be above min_amount")
        return self

    def covers(self, action: ActionKind, amount: Decimal) -> bool:
        above = amount >= self.min_amount
        below = self.max_amount is None or amount < self.max_amount
        return action is self.action and above and below


class Approvals(Frozen):
    rules: list[ApprovalRule] = Field(default_factory=list)
    fallback_approver: Email = Field(
        description="Decides when a chain runs out, and anything no rule names an approver for"
    )
    always_approve: list[ActionKind] = Field(
        default_factory=list, description="Kinds that always wait for a person, at any amount"
    )


class Policy(Frozen):
    version: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    base_currency: Currency
    rates: dict[Currency, Decimal] = Field(
        default_factory=dict, description="Value of one unit of each currency in base currency"
    )
    approvals: Approvals

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, rate in rates.items():
            if rate <= 0:
                raise ValueError(f"the rate of {currency} must be positive")
        return rates

    def in_base_currency(self, amount: Decimal, currency: str) -> Decimal:
        if currency == self.base_currency:
            return amount
        if currency not in self.rates:
            raise PolicyGap(f"the policy has no rate for {currency}")
        return amount * self.rates[currency]

    def approval_for(
        self, action: ActionKind, amount: Decimal, currency: str
    ) -> ApprovalRule | None:
        """The rule a proposed action must be approved under, or None when it may go ahead.

        An action the rules leave unpriced (a currency without a rate) is never let through:
        it goes to the fallback approver.
        """
        try:
            base_amount = self.in_base_currency(amount, currency)
        except PolicyGap:
            return self._fallback(action, "no exchange rate for the currency")
        rule = next((r for r in self.approvals.rules if r.covers(action, base_amount)), None)
        if rule is None and action in self.approvals.always_approve:
            return self._fallback(action, "this kind of action always needs approval")
        return rule

    def _fallback(self, action: ActionKind, why: str) -> ApprovalRule:
        return ApprovalRule(
            name=f"fallback: {why}", action=action, approvers=[self.approvals.fallback_approver]
        )


class PolicyGap(ValueError):
    """The policy does not say enough to judge an action."""
