"""Payment plans and agency escalations as actions: performed within policy, routed through the
approval gate above it, and a running plan followed instalment by instalment."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from functions.approvals.pages import decision_facts
from shared.actions.models import AgencyEscalation, PaymentPlan
from shared.actions.perform import Performer, PreconditionFailed
from shared.actions.proposals import Proposals, ProposalStatus
from shared.approvals.mail import compose_ask
from shared.approvals.models import Decision
from shared.audit.models import Actor, ActorKind
from shared.cases.service import Cases
from shared.collections.candidates import EscalateToPerson, build_candidates
from shared.collections.plans import propose_plan
from shared.collections.state import build_state
from shared.ledger.models import AccountStatus, CaseKind, CaseStatus
from shared.policy.source import PolicySource
from tests.collections_factories import EXAMPLE_POLICY, example_policy
from tests.factories import invoice, payment, profile
from tests.integration.conftest import (
    FALLBACK,
    emails_to,
    eventually,
    execution_arn,
    finished_execution,
    output_of,
)

AGENT = Actor(kind=ActorKind.AGENT, id="decide")
POLICY = example_policy()
"""Plans: up to 6 instalments and 10,000 EUR on the agent's own authority; 3 instalments, the
first 7 days after the offer, then every 30 days, with 3 grace days."""


@pytest.fixture
def acme(services, integrator):
    """ACME's INV-1 (1200.00 EUR), due 31 January 2026: a month overdue on 2 March."""
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_invoices([invoice("INV-1", issued=date(2026, 1, 1))], integrator)
    return services


def plan_for(services, *numbers: str, instalments: int | None = None) -> PaymentPlan:
    records = services.ledger.store.records("ACME")
    invoices = [i for i in records.invoices if i.number in (numbers or ("INV-1",))]
    today = services.clock.now().date()
    return propose_plan(POLICY, "ACME", invoices, today, instalments).plan


def at(clock, day: date) -> None:
    clock.set(datetime(day.year, day.month, day.day, 10, tzinfo=UTC))


def actions(services) -> list[str]:
    return [event.action for event in services.audit.events("ACME")]


def the_plan(services):
    (case,) = services.ledger.store.records("ACME").cases
    return case


def pay(services, integrator, payment_id: str, amount: str, day: date) -> None:
    services.ledger.record_payment(
        "ACME", payment(payment_id, amount, ("INV-1", amount), received_on=day), integrator
    )


# Agreeing a plan


def test_performing_a_plan_opens_a_case_with_its_instalments_and_audits_both(acme):
    plan = plan_for(acme)

    outcome = Performer(acme.ledger).perform(plan, AGENT, "asked for instalments", None, "v1")

    case = the_plan(acme)
    assert outcome == f"agreed as case {case.case_id}"
    assert (case.kind, case.status, case.amount) == (
        CaseKind.PAYMENT_PLAN,
        CaseStatus.OPEN,
        Decimal("1200.00"),
    )
    assert [(i.due_date, i.amount) for i in case.instalments] == [
        (date(2026, 3, 9), Decimal("400.00")),
        (date(2026, 4, 8), Decimal("400.00")),
        (date(2026, 5, 8), Decimal("400.00")),
    ]
    performed, agreed = acme.audit.events("ACME")[-2:]
    assert (performed.action, agreed.action) == ("payment_plan.performed", "payment_plan.agreed")
    assert agreed.inputs["case_id"] == case.case_id
    assert len(agreed.inputs["instalments"]) == 3
    assert performed.policy_version == "v1"
    assert acme.ledger.store.account("ACME").next_review_at == acme.clock.now()


def test_the_same_plan_is_never_agreed_twice(acme):
    plan = plan_for(acme)
    performer = Performer(acme.ledger)
    performer.perform(plan, AGENT, "asked for instalments")

    with pytest.raises(PreconditionFailed, match=r"payment plan \S+ already covers"):
        performer.perform(plan, AGENT, "asked for instalments")

    assert len(acme.ledger.store.records("ACME").cases) == 1
    assert actions(acme).count("payment_plan.agreed") == 1


def test_a_plan_whose_invoice_moved_since_it_was_proposed_is_not_agreed(acme, integrator):
    plan = plan_for(acme)
    pay(acme, integrator, "P-1", "100.00", date(2026, 3, 2))

    with pytest.raises(PreconditionFailed, match=r"1100\.00 EUR open, the action was for 1200\.00"):
        Performer(acme.ledger).perform(plan, AGENT, "asked for instalments")

    assert acme.ledger.store.records("ACME").cases == []


class _NoGate:
    def request(self, request):
        raise AssertionError("a plan within the agent's authority asks nobody")


class _RecordingGate:
    def __init__(self) -> None:
        self.requested = []

    def request(self, request):
        self.requested.append(request)
        return request


def proposals(services, gate) -> Proposals:
    source = PolicySource(f"file:{EXAMPLE_POLICY}")
    return Proposals(
        services.ledger.store, Performer(services.ledger), source, lambda: gate, services.clock
    )


def test_a_plan_within_the_policys_limits_is_agreed_at_once(acme):
    outcome = proposals(acme, _NoGate()).propose(plan_for(acme), "asked", AGENT, "decision-1")

    assert outcome.status is ProposalStatus.PERFORMED
    assert the_plan(acme).kind is CaseKind.PAYMENT_PLAN


def test_a_plan_beyond_the_policys_limits_waits_for_a_person(acme):
    gate = _RecordingGate()
    long_plan = plan_for(acme, instalments=12)

    outcome = proposals(acme, gate).propose(long_plan, "asked for a year", AGENT, "decision-2")

    assert outcome.status is ProposalStatus.AWAITING_APPROVAL
    assert outcome.policy_rule == "fallback: more than 6 instalments"
    assert [r.action for r in gate.requested] == [long_plan]
    assert acme.ledger.store.records("ACME").cases == []


def test_the_approver_is_told_the_schedule_they_are_asked_to_agree(acme):
    gate = _RecordingGate()
    proposals(acme, gate).propose(plan_for(acme, instalments=12), "asked", AGENT, "decision-3")
    (request,) = gate.requested
    request = request.model_copy(update={"expires_at": datetime(2026, 3, 4, tzinfo=UTC)})

    message = compose_ask(request, "https://x.example/a", "ar@example.com", acme.clock.now())

    assert message["Subject"] == (
        "Approval needed: payment plan of 1,200.00 EUR in 12 instalments from 2026-03-09 "
        "on invoices INV-1 of account ACME"
    )
    assert ("Action", "Payment plan of 1,200.00 EUR on invoice INV-1") in decision_facts(request)


# Following a running plan


@pytest.fixture
def running(acme):
    """A plan of 3 x 400.00 EUR on INV-1, due 9 March, 8 April and 8 May."""
    Performer(acme.ledger).perform(plan_for(acme), AGENT, "asked for instalments")
    return acme


def test_an_instalment_paid_is_recorded_on_the_plan(running, clock, integrator):
    pay(running, integrator, "P-1", "400.00", date(2026, 3, 9))
    at(clock, date(2026, 3, 10))

    (change,) = Cases(running.ledger).review("ACME", POLICY).changes

    case = the_plan(running)
    assert change.action == "payment_plan.instalment_paid"
    assert case.status is CaseStatus.OPEN
    assert [i.paid_amount for i in case.instalments] == [Decimal("400.00"), 0, 0]
    paid = running.audit.events("ACME")[-1]
    assert paid.inputs["paid"] == [{"due_date": "2026-03-09", "amount": "400.00", "paid": "400.00"}]
    assert Cases(running.ledger).review("ACME", POLICY).changes == []


def test_a_plan_paid_in_full_is_completed(running, clock, integrator):
    pay(running, integrator, "P-1", "1200.00", date(2026, 3, 9))
    at(clock, date(2026, 3, 10))

    (change,) = Cases(running.ledger).review("ACME", POLICY).changes

    assert change.action == "payment_plan.completed"
    assert the_plan(running).status is CaseStatus.RESOLVED


def test_an_instalment_missed_past_its_grace_days_breaks_the_plan(running, clock, integrator):
    # Given the first instalment was paid and the second (8 April) was not
    pay(running, integrator, "P-1", "400.00", date(2026, 3, 9))

    # When the account is reviewed on the last grace day, then the plan still runs
    at(clock, date(2026, 4, 11))
    changes = Cases(running.ledger).review("ACME", POLICY).changes
    assert [c.action for c in changes] == ["payment_plan.instalment_paid"]

    # When it is reviewed the day after
    at(clock, date(2026, 4, 12))
    review = Cases(running.ledger).review("ACME", POLICY)

    # Then the plan is broken, naming the instalment missed
    (change,) = review.changes
    assert change.action == "payment_plan.broken"
    assert the_plan(running).status is CaseStatus.BROKEN
    broken = running.audit.events("ACME")[-1]
    assert broken.inputs["missed"] == [
        {"due_date": "2026-04-08", "amount": "400.00", "paid": "0.00"}
    ]
    # And the collections core puts the account in front of a person, reminders resuming
    state = build_state(review.records, clock.now(), POLICY)
    (escalation,) = [c for c in build_candidates(state, POLICY) if isinstance(c, EscalateToPerson)]
    assert "missed the instalment of 2026-04-08" in escalation.reason
    assert state.pause is None
    assert state.invoices[0].pause is None


# Agency escalation


def agency(services) -> AgencyEscalation:
    return AgencyEscalation(
        account_id="ACME",
        currency="EUR",
        amount=Decimal("1200.00"),
        invoice_numbers=["INV-1"],
        reason="reminders exhausted",
    )


def test_handing_an_account_to_an_agency_puts_it_on_hold_and_stops_the_agent(acme):
    Performer(acme.ledger).perform(agency(acme), AGENT, "no answer to the final notice")

    account = acme.ledger.store.account("ACME")
    assert account.status is AccountStatus.ON_HOLD
    assert account.hold_reason == "with a collection agency: INV-1"
    assert actions(acme)[-2:] == ["account.updated", "agency_escalation.performed"]
    state = build_state(acme.ledger.store.records("ACME"), acme.clock.now(), POLICY)
    assert state.pause is not None
    assert [c.kind for c in build_candidates(state, POLICY)] == ["wait"]
    with pytest.raises(PreconditionFailed, match="on_hold"):
        Performer(acme.ledger).perform(agency(acme), AGENT, "again")


def test_an_agency_handover_whose_invoice_was_paid_meanwhile_is_not_carried_out(acme, integrator):
    # Given a handover proposed on INV-1's 1200.00, and 100.00 paid on it since
    pay(acme, integrator, "P-1", "100.00", date(2026, 3, 2))

    # When it is carried out (an approval arriving days later, say); Then it is refused
    with pytest.raises(PreconditionFailed, match=r"1100\.00 EUR open, the action was for 1200"):
        Performer(acme.ledger).perform(agency(acme), AGENT, "no answer to the final notice")

    assert acme.ledger.store.account("ACME").status is AccountStatus.ACTIVE
    assert "agency_escalation.performed" not in actions(acme)


def test_an_agency_escalation_always_waits_for_a_person(acme):
    gate = _RecordingGate()

    outcome = proposals(acme, gate).propose(agency(acme), "exhausted", AGENT, "decision-4")

    assert outcome.status is ProposalStatus.AWAITING_APPROVAL
    assert acme.ledger.store.account("ACME").status is AccountStatus.ACTIVE


# Through the real approval state machine


class TestAPlanAboveTheLimitThroughApproval:
    @pytest.fixture
    def aws(self, step_functions_aws):
        return step_functions_aws

    def test_it_is_agreed_once_the_approver_approves(self, acme):
        # Given a plan the test policy reserves for its fallback approver
        plan = plan_for(acme)
        outcome = acme.proposals().propose(plan, "asked for instalments", AGENT, "plan-acme-1")
        assert outcome.status is ProposalStatus.AWAITING_APPROVAL
        assert outcome.approvers == (FALLBACK,)
        assert acme.ledger.store.records("ACME").cases == []

        # When the approver is asked and approves
        assert eventually(lambda: emails_to(FALLBACK))
        acme.approvals().decide(outcome.approval_id, FALLBACK, Decision.APPROVE, "fine")

        # Then the execution carries it out: the plan is a case, agreed in the approver's name
        execution = finished_execution(execution_arn(outcome.approval_id))
        assert execution["status"] == "SUCCEEDED"
        assert output_of(execution)["result"] == {"outcome": "performed"}
        case = the_plan(acme)
        assert case.kind is CaseKind.PAYMENT_PLAN
        performed = next(
            e for e in acme.audit.events("ACME") if e.action == "payment_plan.performed"
        )
        assert performed.actor == Actor(kind=ActorKind.APPROVER, id=FALLBACK)
        assert performed.inputs["approval"]["approval_id"] == outcome.approval_id
        assert acme.audit.verify().intact
