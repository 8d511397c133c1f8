"""Payment plans as cases: agreed when the plan action is performed, then followed instalment by
instalment as payments arrive; a missed instalment past its grace days breaks the plan.

Following a plan is the collections core's (`shared.collections.plans.track_plan`); this
stores what it finds on the case, so each instalment carries what was paid toward it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from shared.actions.models import PaymentPlan
from shared.audit.models import Entry
from shared.cases.book import CaseBook
from shared.cases.ids import PLAN, case_id_for
from shared.cases.models import CaseChange
from shared.collections.plans import InstalmentStatus, PlanProgress, track_plan
from shared.errors import Conflict
from shared.ledger.aging import still_owed_refusal
from shared.ledger.models import Case, CaseKind, CaseStatus, Instalment
from shared.ledger.store import AccountRecords
from shared.money import to_minor_units
from shared.policy.models import Policy

AGREED = "payment_plan.agreed"
INSTALMENT_PAID = "payment_plan.instalment_paid"
COMPLETED = "payment_plan.completed"
BROKEN = "payment_plan.broken"


class PlanNotPossible(Conflict):
    """The plan no longer fits the account: an invoice moved, or another plan covers it."""


class PlanBook:
    def __init__(self, book: CaseBook) -> None:
        self._book = book

    def check(self, plan: PaymentPlan) -> None:
        """Raise PlanNotPossible unless the plan can be agreed now, as proposed."""
        records = self._book.records(plan.account_id)
        refusal = plan_refusal(plan, records, self._book.now().date())
        if refusal is not None:
            raise PlanNotPossible(refusal)

    def plan_case(self, plan: PaymentPlan) -> Case:
        return plan_case(plan, self._book.now())

    def review(
        self, account_id: str, policy: Policy, records: AccountRecords | None = None
    ) -> list[CaseChange]:
        """Bring each open plan up to date: paid instalments recorded, the plan completed once
        all are paid, or broken once one is missed past its grace days."""
        records = records or self._book.records(account_id)
        today = self._book.now().date()
        rules = policy.collections.payment_plans
        changes = []
        for case in records.cases:
            if case.kind is not CaseKind.PAYMENT_PLAN or case.status is not CaseStatus.OPEN:
                continue
            progress = track_plan(case, records.payments, records.allocations, today, rules)
            change = self._follow(progress)
            if change is not None:
                changes.append(change)
        return changes

    def _follow(self, progress: PlanProgress) -> CaseChange | None:
        case = progress.case
        updated = _as_followed(progress)
        newly_paid = _newly_paid(case, updated)
        inputs: dict[str, object] = {
            "case_id": case.case_id,
            "received": str(progress.received),
            "amount": str(case.amount),
        }
        if progress.defaulted:
            missed = [_described(p.instalment, p.paid, case.currency) for p in progress.missed]
            entry = self._entry(case, BROKEN, {**inputs, "missed": missed}, "broken")
            broken = case.model_copy(update={"instalments": updated})
            return self._book.close(broken, CaseStatus.BROKEN, BROKEN, entry)
        if all(p.status is InstalmentStatus.PAID for p in progress.instalments):
            entry = self._entry(case, COMPLETED, inputs, "completed")
            done = case.model_copy(update={"instalments": updated})
            return self._book.close(done, CaseStatus.RESOLVED, COMPLETED, entry)
        if updated == sorted(case.instalments, key=lambda i: i.due_date):
            return None
        described = [_described(i, i.paid_amount, case.currency) for i in newly_paid]
        outcome = f"{len(newly_paid)} instalment(s) paid" if newly_paid else "part paid"
        entry = self._entry(case, INSTALMENT_PAID, {**inputs, "paid": described}, outcome)
        changed = case.model_copy(update={"instalments": updated})
        return self._book.change(case, changed, INSTALMENT_PAID, entry)

    def _entry(self, case: Case, action: str, inputs: dict[str, object], outcome: str) -> Entry:
        return Entry(
            chain=case.account_id,
            actor=self._book.reviewer,
            action=action,
            inputs=inputs,
            rationale=f"payments toward plan {case.case_id} since {case.opened_at:%Y-%m-%d}",
            outcome=outcome,
        )


def plan_case_id(plan: PaymentPlan) -> str:
    """Derived from the plan itself, so performing the same plan twice opens one case."""
    return case_id_for(PLAN, plan.account_id, plan.model_dump_json(exclude={"reason"}))


def plan_case(plan: PaymentPlan, opened_at: datetime) -> Case:
    return Case(
        account_id=plan.account_id,
        case_id=plan_case_id(plan),
        kind=CaseKind.PAYMENT_PLAN,
        currency=plan.currency,
        amount=plan.amount,
        invoice_numbers=plan.invoice_numbers,
        instalments=plan.instalments,
        summary=plan.reason,
        opened_at=opened_at,
    )


def agreed_entry(case: Case, base: Entry) -> Entry:
    """The case's own event beside the action's: what was agreed, instalment by instalment."""
    return base.model_copy(
        update={
            "action": AGREED,
            "inputs": {
                "case_id": case.case_id,
                "amount": str(case.amount),
                "currency": case.currency,
                "invoice_numbers": case.invoice_numbers,
                "instalments": [_described(i, Decimal(0), case.currency) for i in case.instalments],
            },
            "outcome": "open",
        }
    )


def plan_refusal(plan: PaymentPlan, records: AccountRecords, today: date) -> str | None:
    """Why the plan cannot be agreed on the account as it stands, or None when it can."""
    if records.account.currency != plan.currency:
        return f"account {plan.account_id} is billed in {records.account.currency}"
    if plan.instalments[0].due_date < today:
        return f"the first instalment was due {plan.instalments[0].due_date}; propose it again"
    refusal = still_owed_refusal(records.invoices, plan.invoice_numbers, plan.amount, plan.currency)
    if refusal is not None:
        return refusal
    covered = set(plan.invoice_numbers)
    for case in records.cases:
        running = case.kind is CaseKind.PAYMENT_PLAN and case.status is CaseStatus.OPEN
        if running and covered & set(case.invoice_numbers):
            return f"payment plan {case.case_id} already covers some of these invoices"
    return None


def _as_followed(progress: PlanProgress) -> list[Instalment]:
    """The plan's instalments in date order, each with what has been paid toward it."""
    currency = progress.case.currency
    return [
        Instalment(
            due_date=p.instalment.due_date,
            amount=p.instalment.amount,
            paid_amount=to_minor_units(p.paid, currency),
        )
        for p in progress.instalments
    ]


def _newly_paid(case: Case, updated: list[Instalment]) -> list[Instalment]:
    before = {i.due_date: i.paid_amount >= i.amount for i in case.instalments}
    return [i for i in updated if i.paid_amount >= i.amount and not before.get(i.due_date, False)]


def _described(instalment: Instalment, paid: Decimal, currency: str) -> dict[str, str]:
    return {
        "due_date": instalment.due_date.isoformat(),
        "amount": str(instalment.amount),
        "paid": str(to_minor_units(paid, currency)),
    }
