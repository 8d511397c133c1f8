"""Approval gates end to end on moto: the real state machine asks, escalates, expires, and
carries out what a person approved, each step through the real handlers and in the audit trail.
"""

import os
import threading
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest

from shared.approvals import links
from shared.approvals.errors import AlreadyDecided, NotAwaitingApprover
from shared.approvals.keys import signing_key
from shared.approvals.models import ApprovalStatus, Decision
from shared.approvals.service import ApprovalGate, Requesting
from shared.approvals.settings import ApprovalSettings
from shared.approvals.store import ApprovalStore
from shared.audit.models import Actor, ActorKind
from shared.ledger.models import InvoiceStatus
from shared.policy.source import PolicySource
from tests.factories import invoice, payment, profile
from tests.integration.conftest import (
    BASE_URL,
    FALLBACK,
    FIRST,
    SECOND,
    emails_to,
    eventually,
    execution_arn,
    finished_execution,
    output_of,
    sent_emails,
    write_off_request,
)

HOUR_IN_SECONDS = 3600
HOUR_IN_ONE_SECOND = 1


@pytest.fixture
def aws(step_functions_aws):
    return step_functions_aws


@pytest.fixture
def acme(services, integrator):
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_invoices([invoice("INV-1", amount="1200.00")], integrator)
    return services.ledger.store.account("ACME")


def gate(services, seconds_per_hour=HOUR_IN_SECONDS, stepfunctions=None) -> ApprovalGate:
    settings = ApprovalSettings.from_env()
    return ApprovalGate(
        ApprovalStore(services.dynamodb, services.settings.ledger_table),
        services.audit,
        services.clock,
        stepfunctions or boto3.client("stepfunctions"),
        Requesting(
            settings.state_machine_arn, PolicySource(settings.policy_source), seconds_per_hour
        ),
    )


def actions(services, chain="ACME"):
    return [event.action for event in services.audit.events(chain)]


def approval_link(message) -> links.SignedLink:
    """The link in the email's text part, checked against the deployment's signing key."""
    text = message.get_body(("plain",)).get_content()
    url = next(line for line in text.splitlines() if line.startswith(BASE_URL))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    link = links.SignedLink(
        unquote(parts.path.rsplit("/", 1)[1]), query["approver"][0], int(query["expires"][0])
    )
    key = signing_key(boto3.client("secretsmanager"), os.environ["APPROVAL_SIGNING_SECRET_ARN"])
    assert links.valid(link, query["sig"][0], key), "the link's signature does not verify"
    return link


def test_an_approved_write_off_is_carried_out_and_audited_with_its_approver(services, acme):
    # Given a write-off that waits for approval
    approvals = gate(services)
    approval = approvals.request(write_off_request())

    # When the execution asks the first approver
    (asked,) = eventually(lambda: emails_to(FIRST))

    # Then the email links to the approval page for them, signed, and carries no task token
    link = approval_link(asked)
    assert (link.approval_id, link.approver) == (approval.approval_id, FIRST)
    stored = approvals.get(approval.approval_id)
    assert link.expires == int(stored.expires_at.timestamp())
    token = approvals.store.task_token(approval.approval_id, 0)
    assert token
    assert token not in asked.as_string()

    # When that approver approves
    approvals.decide(approval.approval_id, FIRST, Decision.APPROVE, "Confirmed", via="test")

    # Then the execution succeeds and the invoice is written off in the approver's name
    execution = finished_execution(execution_arn(approval.approval_id))
    assert execution["status"] == "SUCCEEDED"
    assert output_of(execution)["result"] == {"outcome": "performed"}
    written_off = services.ledger.store.invoice("ACME", "INV-1")
    assert (written_off.status, written_off.open_amount) == (InvoiceStatus.PAID, 0)
    trail = services.audit.events("ACME")
    assert [e.action for e in trail][2:] == [
        "approval.requested",
        "approval.asked",
        "approval.decided",
        "write_off.performed",
    ]
    performed = trail[-1]
    assert performed.actor == Actor(kind=ActorKind.APPROVER, id=FIRST)
    assert performed.inputs["approval"]["approval_id"] == approval.approval_id
    assert trail[-2].actor == Actor(kind=ActorKind.APPROVER, id=FIRST)
    closed = approvals.get(approval.approval_id)
    assert (closed.status, closed.outcome, closed.decided_by) == (
        ApprovalStatus.APPROVED,
        "performed",
        FIRST,
    )
    assert approvals.pending() == []
    assert approvals.store.task_token(approval.approval_id, 0) is None


def test_a_rejected_write_off_changes_nothing_but_the_trail(services, acme):
    # Given a write-off whose first approver has been asked
    approvals = gate(services)
    approval = approvals.request(write_off_request())
    eventually(lambda: emails_to(FIRST))

    # When they reject it
    approvals.decide(approval.approval_id, FIRST, Decision.REJECT, "Keep collecting", via="test")

    # Then the execution records the rejection and the invoice stays open
    execution = finished_execution(execution_arn(approval.approval_id))
    assert output_of(execution)["result"] == {"outcome": "rejected"}
    assert services.ledger.store.invoice("ACME", "INV-1").open_amount == 1200
    assert actions(services)[-2:] == ["approval.decided", "approval.rejected"]
    rejected = services.audit.events("ACME")[-1]
    assert rejected.inputs["rejected_by"] == FIRST
    assert rejected.inputs["comment"] == "Keep collecting"
    closed = approvals.get(approval.approval_id)
    assert (closed.status, closed.outcome) == (ApprovalStatus.REJECTED, "rejected")


def test_a_decision_is_taken_once_and_sent_to_the_execution_once(services, acme):
    # Given an asked approval, and a count of the task results the gate sends
    stepfunctions = boto3.client("stepfunctions")
    results = []
    stepfunctions.meta.events.register(
        "before-call.sfn.SendTaskSuccess", lambda **kwargs: results.append(kwargs)
    )
    approvals = gate(services, stepfunctions=stepfunctions)
    approval = approvals.request(write_off_request())
    eventually(lambda: emails_to(FIRST))

    # When someone other than the approver asked tries, then the approver decides twice at once
    with pytest.raises(NotAwaitingApprover):
        approvals.decide(approval.approval_id, SECOND, Decision.APPROVE, "", via="test")
    outcomes = []

    def decide() -> None:
        try:
            outcomes.append(approvals.decide(approval.approval_id, FIRST, Decision.APPROVE))
        except AlreadyDecided as refused:
            outcomes.append(refused)

    deciders = [threading.Thread(target=decide) for _ in range(2)]
    for decider in deciders:
        decider.start()
    for decider in deciders:
        decider.join()

    # Then one decision is recorded and sent; the other is refused with a typed error
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "AlreadyDecided",
        "ApprovalRequest",
    ]
    assert len(results) == 1
    with pytest.raises(AlreadyDecided):
        approvals.decide(approval.approval_id, FIRST, Decision.REJECT)
    finished_execution(execution_arn(approval.approval_id))
    assert actions(services).count("approval.decided") == 1
    assert actions(services).count("write_off.performed") == 1


def test_deadlines_escalate_through_the_chain_then_the_fallback_then_expire(services, acme):
    # Given approvers who each have "one hour", which this gate counts as one second
    approvals = gate(services, seconds_per_hour=HOUR_IN_ONE_SECOND)

    # When nobody decides
    approval = approvals.request(write_off_request())
    execution = finished_execution(execution_arn(approval.approval_id))

    # Then each approver in turn was emailed, then the fallback, then the approval expired
    assert [message["To"] for message in sent_emails()] == [FIRST, SECOND, FALLBACK]
    assert [approval_link(message).approver for message in sent_emails()] == [
        FIRST,
        SECOND,
        FALLBACK,
    ]
    assert execution["status"] == "SUCCEEDED"
    assert output_of(execution)["result"] == {"outcome": "expired"}
    assert actions(services)[2:] == [
        "approval.requested",
        "approval.asked",
        "approval.escalated",
        "approval.asked",
        "approval.escalated",
        "approval.asked",
        "approval.expired",
    ]
    expired = approvals.get(approval.approval_id)
    assert (expired.status, expired.outcome, expired.step) == (ApprovalStatus.EXPIRED, "expired", 2)
    assert approvals.pending() == []
    assert services.ledger.store.invoice("ACME", "INV-1").open_amount == 1200
    with pytest.raises(AlreadyDecided):
        approvals.decide(approval.approval_id, FALLBACK, Decision.APPROVE)


def test_requesting_the_same_approval_twice_starts_one_execution(services, acme):
    # Given a requested approval
    approvals = gate(services)
    first = approvals.request(write_off_request())
    eventually(lambda: emails_to(FIRST))

    # When the same decision asks for it again
    again = approvals.request(write_off_request())

    # Then nothing new is stored, started or sent
    assert again == approvals.get(first.approval_id)
    machine = os.environ["APPROVAL_STATE_MACHINE_ARN"]
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
    assert len(executions["executions"]) == 1
    assert actions(services).count("approval.requested") == 1
    assert len(sent_emails()) == 1
    assert [pending.approval_id for pending in approvals.pending()] == [first.approval_id]


def test_an_approval_that_no_longer_fits_the_invoice_is_not_executed(services, acme, integrator):
    # Given a write-off of the full open amount, waiting for approval
    approvals = gate(services)
    approval = approvals.request(write_off_request(amount="1200.00"))
    eventually(lambda: emails_to(FIRST))

    # When the customer pays part of the invoice before the approver approves
    services.ledger.record_payment(
        "ACME", payment("PAY-1", "200.00", ("INV-1", "200.00")), integrator
    )
    approvals.decide(approval.approval_id, FIRST, Decision.APPROVE)

    # Then nothing is written off and the trail says why
    execution = finished_execution(execution_arn(approval.approval_id))
    assert execution["status"] == "SUCCEEDED"
    assert output_of(execution)["result"] == {"outcome": "precondition_failed"}
    assert services.ledger.store.invoice("ACME", "INV-1").open_amount == 1000
    assert "write_off.performed" not in actions(services)
    not_executed = services.audit.events("ACME")[-1]
    assert not_executed.action == "approval.not_executed"
    assert "1000.00 EUR open" in not_executed.inputs["reason"]
    assert approvals.get(approval.approval_id).outcome == "precondition_failed"
