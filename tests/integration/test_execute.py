"""execute on moto: what was approved is carried out once, with its preconditions checked again;
what was rejected, lapsed or broke is recorded; the stored record decides, not the payload.
"""

import pytest

from events import load
from functions.execute.handler import lambda_handler
from infra.local.lambda_context import LambdaContext
from shared.actions.perform import Approval, Performer
from shared.approvals.execution import DecisionNotRecorded
from shared.approvals.models import ApprovalStatus, Decision
from shared.audit.models import Actor, ActorKind
from shared.ledger.models import AllocationSource, InvoiceStatus
from tests.factories import payment
from tests.integration.conftest import FIRST

NO_METRICS = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def gate(approval_gate):
    return approval_gate


@pytest.fixture
def approval_id(requested_write_off):
    return requested_write_off.approval_id


def asked(gate, approval_id):
    """What the RequestApproval task does: keep a token, start the first approver's hour."""
    return gate.await_decision(approval_id, "token-of-step-0", 0)


def decided(gate, approval_id, decision=Decision.APPROVE, comment="Confirmed"):
    asked(gate, approval_id)
    return gate.decide(approval_id, FIRST, decision, comment, via="test")


def execute(approval_id: str, sample: str = "execute_approved") -> dict:
    event = load(f"stepfunctions/{sample}")
    event["approval_id"] = approval_id
    return lambda_handler(event, LambdaContext("autoar-execute"))


def actions(services):
    return [event.action for event in services.audit.events("ACME")]


def write_offs(services):
    records = services.ledger.store.records("ACME")
    return [a for a in records.allocations if a.source is AllocationSource.WRITE_OFF]


def test_an_approved_write_off_is_performed_once_however_often_the_task_comes(
    services, gate, approval_id
):
    # Given an approved write-off
    decided(gate, approval_id)

    # When the execute task is delivered, and delivered again
    first = execute(approval_id)
    again = execute(approval_id)

    # Then the invoice was written off once, in the approver's name
    assert first == {"outcome": "performed", "reason": ""}
    assert again == {"outcome": "performed", "reason": "already closed"}
    assert services.ledger.store.invoice("ACME", "INV-1").status is InvoiceStatus.PAID
    assert len(write_offs(services)) == 1
    assert actions(services).count("write_off.performed") == 1
    performed = services.audit.events("ACME")[-1]
    assert performed.actor == Actor(kind=ActorKind.APPROVER, id=FIRST)
    assert performed.policy_version == "test-1"
    assert performed.inputs["approval"] == {
        "approval_id": approval_id,
        "approver": FIRST,
        "comment": "Confirmed",
    }
    assert gate.get(approval_id).outcome == "performed"


def test_a_write_off_performed_before_its_outcome_was_recorded_is_not_performed_again(
    services, gate, approval_id
):
    # Given an earlier delivery wrote the invoice off, then stopped before recording that
    approval = decided(gate, approval_id)
    Performer(services.ledger).perform(
        approval.action,
        actor=Actor(kind=ActorKind.APPROVER, id=FIRST),
        rationale=approval.rationale,
        approval=Approval(approval_id, FIRST, "Confirmed"),
    )

    # When the task is delivered again
    result = execute(approval_id)

    # Then it records the outcome and does not report the invoice as changed
    assert result["outcome"] == "performed"
    assert len(write_offs(services)) == 1
    assert "approval.not_executed" not in actions(services)


def test_an_invoice_that_changed_since_the_proposal_is_not_written_off(
    services, gate, approval_id, integrator
):
    # Given an approved write-off of 1200.00, and a payment of 200.00 that arrived meanwhile
    decided(gate, approval_id)
    services.ledger.record_payment(
        "ACME", payment("PAY-1", "200.00", ("INV-1", "200.00")), integrator
    )

    # When the execute task runs, twice
    result = execute(approval_id)
    again = execute(approval_id)

    # Then nothing is written off, the trail says why, and the task did not fail
    assert result["outcome"] == "precondition_failed"
    assert "1000.00 EUR open" in result["reason"]
    assert again["outcome"] == "precondition_failed"
    assert write_offs(services) == []
    assert services.ledger.store.invoice("ACME", "INV-1").open_amount == 1000
    assert actions(services).count("approval.not_executed") == 1
    not_executed = services.audit.events("ACME")[-1]
    assert not_executed.inputs["reason"] == result["reason"]
    assert not_executed.outcome == "precondition_failed"


def test_a_rejection_is_recorded_and_changes_nothing_else(services, gate, approval_id):
    # Given a rejected write-off
    decided(gate, approval_id, Decision.REJECT, "Keep collecting")

    # When the execution records it
    result = execute(approval_id, "execute_rejected")

    # Then the approval is closed as rejected and the invoice is untouched
    assert result["outcome"] == "rejected"
    assert actions(services)[-1] == "approval.rejected"
    assert services.ledger.store.invoice("ACME", "INV-1").open_amount == 1200
    closed = gate.get(approval_id)
    assert (closed.status, closed.outcome) == (ApprovalStatus.REJECTED, "rejected")


def test_an_approval_nobody_decided_expires(services, gate, approval_id):
    # Given an approval the chain let lapse
    asked(gate, approval_id)

    # When the execution expires it
    result = execute(approval_id, "execute_expired")

    # Then it is closed as expired, off the pending list, and audited
    assert result["outcome"] == "expired"
    expired = gate.get(approval_id)
    assert (expired.status, expired.outcome) == (ApprovalStatus.EXPIRED, "expired")
    assert gate.pending() == []
    assert gate.store.task_token(approval_id, 0) is None
    event = services.audit.events("ACME")[-1]
    assert (event.action, event.inputs["asked"]) == ("approval.expired", [FIRST])


def test_a_decision_whose_callback_was_lost_is_carried_out_when_the_approval_expires(
    services, gate, approval_id
):
    # Given a decision recorded, but never delivered to the execution, which then timed out
    decided(gate, approval_id)

    # When the execution closes the approval as expired
    result = execute(approval_id, "execute_expired")

    # Then the recorded decision is what is carried out
    assert result["outcome"] == "performed"
    assert len(write_offs(services)) == 1
    assert gate.get(approval_id).status is ApprovalStatus.APPROVED


def test_a_failure_is_recorded_on_the_approval_and_in_the_trail(services, gate, approval_id):
    # Given an approval waiting for a decision
    asked(gate, approval_id)

    # When the execution reports that a step failed for good
    result = execute(approval_id, "execute_failed")

    # Then the approval is closed as failed, saying what failed
    assert result["outcome"] == "failed"
    failed = gate.get(approval_id)
    assert (failed.status, failed.outcome) == (ApprovalStatus.FAILED, "failed")
    event = services.audit.events("ACME")[-1]
    assert (event.action, event.inputs["error"]) == ("approval.failed", "Lambda.Unknown")
    assert gate.pending() == []


@NO_METRICS
def test_a_reported_decision_the_record_does_not_hold_is_refused(gate, approval_id):
    # Given an approval nobody decided
    asked(gate, approval_id)

    # When a task claims it was approved
    with pytest.raises(DecisionNotRecorded):
        execute(approval_id)

    # Then it stays pending for the execution to record the failure
    assert gate.get(approval_id).status is ApprovalStatus.PENDING
