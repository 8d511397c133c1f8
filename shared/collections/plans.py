"""Payment plans: a schedule proposed within the policy's limits, and how a running one keeps up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from shared.actions.models import PaymentPlan
from shared.collections.policy import PaymentPlans
from shared.collections.receipts import received_toward
from shared.ledger.models import Allocation, Case, CaseKind, Instalment, Invoice, Payment
from shared.money import MINOR_UNITS, to_minor_units
from shared.policy.models import ApprovalRule, Policy


def schedule(
    amount: Decimal, currency: str, first_due: date, count: int, every_days: int
) -> list[Instalment]:
    """`count` equal instalments in whole minor units, the remainder on the last.

    They always sum to exactly `amount`. An amount smaller than `count` minor units gets as
    many instalments as it has minor units, so none is zero.
    """
    if amount <= 0 or count < 1:
        raise ValueError("a plan needs a positive amount and at least one instalment")
    unit = Decimal(1).scaleb(-MINOR_UNITS[currency])
    units = int(to_minor_units(amount, currency) / unit)
    count = min(count, units)
    share, remainder = divmod(units, count)
    amounts = [share] * (count - 1) + [share + remainder]
    return [
        Instalment(
            due_date=first_due + timedelta(days=index * every_days),
            amount=to_minor_units(units_of * unit, currency),
        )
        for index, units_of in enumerate(amounts)
    ]


@dataclass(frozen=True)
class PlanProposal:
    plan: PaymentPlan
    approval: ApprovalRule | None
    """The rule the plan must be approved under; None when the agent may offer it alone."""

    @property
    def needs_approval(self) -> bool:
        return self.approval is not None


def propose_plan(
    policy: Policy,
    account_id: str,
    invoices: Sequence[Invoice],
    today: date,
    instalments: int | None = None,
) -> PlanProposal:
    """A plan over what is open on `invoices`, and whether it needs a person's approval."""
    rules = policy.collections.payment_plans
    currency = invoices[0].currency
    amount = sum((invoice.open_amount for invoice in invoices), Decimal(0))
    count = instalments or rules.instalments
    first_due = today + timedelta(days=rules.first_due_in_days)
    plan = PaymentPlan(
        account_id=account_id,
        currency=currency,
        amount=amount,
        invoice_numbers=[invoice.number for invoice in invoices],
        instalments=schedule(amount, currency, first_due, count, rules.days_between_instalments),
        reason=f"{amount} {currency} overdue over {len(invoices)} invoice(s)",
    )
    approval = policy.plan_approval(amount, currency, len(plan.instalments))
    return PlanProposal(plan=plan, approval=approval)


class InstalmentStatus(StrEnum):
    PAID = "paid"
    UPCOMING = "upcoming"
    MISSED = "missed"


@dataclass(frozen=True)
class InstalmentProgress:
    instalment: Instalment
    paid: Decimal
    status: InstalmentStatus
    missed_on: date
    """The first day it counts as missed if still unpaid: its date plus the grace days, plus one."""


@dataclass(frozen=True)
class PlanProgress:
    case: Case
    received: Decimal
    instalments: tuple[InstalmentProgress, ...]

    @property
    def missed(self) -> list[InstalmentProgress]:
        return [i for i in self.instalments if i.status is InstalmentStatus.MISSED]

    @property
    def defaulted(self) -> bool:
        return bool(self.missed)

    @property
    def next_unpaid(self) -> InstalmentProgress | None:
        return next((i for i in self.instalments if i.status is InstalmentStatus.UPCOMING), None)


def track_plan(
    case: Case,
    payments: Sequence[Payment],
    allocations: Sequence[Allocation],
    today: date,
    rules: PaymentPlans,
) -> PlanProgress:
    """Which instalments are paid, upcoming or missed, filling them in order with what arrived.

    Payments received since the plan opened count, or the paid amounts recorded on the
    instalments, whichever is more.
    """
    if case.kind is not CaseKind.PAYMENT_PLAN:
        raise ValueError(f"case {case.case_id} is a {case.kind.value}, not a payment plan")
    arrived = received_toward(case, payments, allocations, case.opened_at.date(), today)
    recorded = sum((i.paid_amount for i in case.instalments), Decimal(0))
    available = max(arrived, recorded)
    progress = []
    for instalment in sorted(case.instalments, key=lambda i: i.due_date):
        paid = min(available, instalment.amount)
        available -= paid
        missed_on = instalment.due_date + timedelta(days=rules.grace_days + 1)
        status = _instalment_status(paid, instalment.amount, today, missed_on)
        progress.append(InstalmentProgress(instalment, paid, status, missed_on))
    return PlanProgress(case=case, received=max(arrived, recorded), instalments=tuple(progress))


def _instalment_status(
    paid: Decimal, due: Decimal, today: date, missed_on: date
) -> InstalmentStatus:
    if paid >= due:
        return InstalmentStatus.PAID
    return InstalmentStatus.MISSED if today >= missed_on else InstalmentStatus.UPCOMING
