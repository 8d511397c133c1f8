"""The policy document: versioned, validated, and the only source of what the agent may do.

Approval rules are written in the policy's base currency; an action in another currency is
converted with the policy's own rates, so thresholds mean the same whatever the invoice's
currency. The collections section's own limits (what the agent settles alone) are in the same
currency and must not reach into a band the approval rules reserve for people.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.actions.models import ActionKind
from shared.collections.policy import CollectionsPolicy
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
    collections: CollectionsPolicy = Field(
        default_factory=CollectionsPolicy.silent,
        description="Absent: the agent sends no outreach and settles nothing on its own",
    )

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, rate in rates.items():
            if rate <= 0:
                raise ValueError(f"the rate of {currency} must be positive")
        return rates

    @model_validator(mode="after")
    def _autonomy_below_approval_bands(self) -> Self:
        write_off_below = self.collections.small_balances.write_off_below
        plan_limit = self.collections.payment_plans.max_amount_without_approval
        for rule in self.approvals.rules:
            if rule.action is ActionKind.WRITE_OFF and rule.min_amount < write_off_below:
                raise ValueError(
                    f"collections.small_balances.write_off_below ({write_off_below}) reaches "
                    f"into approval rule {rule.name!r}, which starts at {rule.min_amount}"
                )
            plans_overlap = rule.action is ActionKind.PAYMENT_PLAN and plan_limit > 0
            if plans_overlap and rule.min_amount <= plan_limit:
                raise ValueError(
                    "collections.payment_plans.max_amount_without_approval "
                    f"({plan_limit}) reaches into approval rule {rule.name!r}, which starts at "
                    f"{rule.min_amount}"
                )
        self._autonomy_not_always_approved()
        return self

    def _autonomy_not_always_approved(self) -> None:
        reserved = self.approvals.always_approve
        if ActionKind.WRITE_OFF in reserved and self.collections.small_balances.write_off_below:
            raise ValueError(
                "collections.small_balances.write_off_below is set, but approvals.always_approve "
                "reserves every write-off for a person; set it to 0 or drop write_off there"
            )
        plans = self.collections.payment_plans
        if ActionKind.PAYMENT_PLAN in reserved and plans.max_amount_without_approval:
            raise ValueError(
                "collections.payment_plans.max_amount_without_approval is set, but "
                "approvals.always_approve reserves every payment plan for a person"
            )

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

    def plan_approval(
        self, amount: Decimal, currency: str, instalments: int
    ) -> ApprovalRule | None:
        """The rule a payment plan must be approved under, or None when the agent may offer it.

        A plan needs approval when an approval rule covers it, or when it goes beyond the
        collections section's own limits (then the fallback approver decides).
        """
        rule = self.approval_for(ActionKind.PAYMENT_PLAN, amount, currency)
        if rule is not None:
            return rule
        limits = self.collections.payment_plans
        if instalments > limits.max_instalments_without_approval:
            return self._fallback(
                ActionKind.PAYMENT_PLAN,
                f"more than {limits.max_instalments_without_approval} instalments",
            )
        if self.in_base_currency(amount, currency) > limits.max_amount_without_approval:
            return self._fallback(
                ActionKind.PAYMENT_PLAN,
                f"above {limits.max_amount_without_approval} {self.base_currency}",
            )
        return None

    def small_balance_write_off(self, amount: Decimal, currency: str) -> bool:
        """Whether the agent may write this open amount off on its own."""
        if self.approval_for(ActionKind.WRITE_OFF, amount, currency) is not None:
            return False
        limit = self.collections.small_balances.write_off_below
        return self.in_base_currency(amount, currency) < limit

    def approval_always(
        self, action: ActionKind, amount: Decimal, currency: str, why: str
    ) -> ApprovalRule:
        """The rule for an action the agent only ever requests: a covering rule, else fallback."""
        return self.approval_for(action, amount, currency) or self._fallback(action, why)

    def _fallback(self, action: ActionKind, why: str) -> ApprovalRule:
        return ApprovalRule(
            name=f"fallback: {why}", action=action, approvers=[self.approvals.fallback_approver]
        )


class PolicyGap(ValueError):
    """The policy does not say enough to judge an action."""
