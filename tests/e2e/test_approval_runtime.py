"""The local runtime runs the approval state machine the manifest names, and an approval goes
through it as in AWS: the approver's email lands in the outbox with a link to the local gateway,
and the decision reaches the execution, which writes the invoice off."""

import email
import email.policy
import json
import time
from decimal import Decimal

import boto3
import pytest
from moto.core.config import default_user_config

from infra.local.provision import function_name
from infra.local.runtime import running
from infra.manifest import APPROVAL_STATE_MACHINE, FUNCTIONS
from shared.actions.models import WriteOff
from shared.approvals.ids import approval_id_for
from shared.approvals.models import ApprovalRequest, Decision
from shared.audit.models import Actor, ActorKind
from shared.ledger.models import InvoiceStatus
from tests.factories import invoice, profile

pytestmark = pytest.mark.e2e

INTEGRATOR = Actor(kind=ActorKind.INTEGRATOR, id="e2e")
APPROVER = "ar-lead@example.com"
"""The example policy's approver for write-offs from 50 to 5,000 EUR."""


@pytest.fixture
def runtime(tmp_path):
    # Started per test, after the offline fixture, whose environment the runtime then replaces.
    with running(tmp_path, smtp=False) as started:
        yield started


def eventually(check, seconds=20.0):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_runtime_executes_the_manifests_definition_with_its_own_function_arns(runtime):
    lambda_client = boto3.client("lambda")
    arns = {
        f.name: lambda_client.get_function(FunctionName=function_name(f))["Configuration"][
            "FunctionArn"
        ]
        for f in FUNCTIONS
    }

    described = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=runtime.environment[APPROVAL_STATE_MACHINE.env_var]
    )

    assert described["definition"] == APPROVAL_STATE_MACHINE.definition(arns)
    assert json.loads(described["definition"])["StartAt"] == "RequestApproval"


def test_an_approval_emails_a_local_link_and_its_decision_writes_the_invoice_off(runtime):
    # Given an open invoice and a write-off of it waiting for approval
    ledger = runtime.services.ledger
    ledger.create_account("ACME", profile(), INTEGRATOR)
    ledger.create_invoices([invoice("INV-1", amount="1200.00")], INTEGRATOR)
    gate = runtime.services.approvals()
    approval = gate.request(
        ApprovalRequest(
            approval_id=approval_id_for("e2e-decision-1"),
            decision_id="e2e-decision-1",
            account_id="ACME",
            account_name="Acme GmbH",
            action=WriteOff(
                account_id="ACME",
                invoice_number="INV-1",
                currency="EUR",
                amount=Decimal("1200.00"),
                reason="Insolvent",
            ),
            rationale="Insolvency notice received.",
            policy_version="2026-12-01.1",
            policy_rule="write-offs from 50 EUR",
            approvers=[APPROVER],
            hours_per_approver=48,
            requested_by=Actor(kind=ActorKind.AGENT, id="e2e"),
            requested_at=runtime.clock.now(),
        )
    )

    # When the execution asks the approver
    written = eventually(runtime.outbox.flush)

    # Then the email in the outbox links to the local approval page
    (path,) = written
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == APPROVER
    text = message.get_body(("plain",)).get_content()
    assert f"{runtime.api_url}/approvals/{approval.approval_id}?approver=" in text

    # When the approver approves
    gate.decide(approval.approval_id, APPROVER, Decision.APPROVE, "Confirmed", via="e2e")

    # Then the execution writes the invoice off
    paid = eventually(lambda: ledger.store.invoice("ACME", "INV-1").status is InvoiceStatus.PAID)
    assert paid
    assert gate.get(approval.approval_id).outcome == "performed"


def test_a_stopped_runtime_leaves_moto_storing_state_machines_again(tmp_path):
    # Given moto, process-wide, only storing state machines, as every other test expects
    assert default_user_config["stepfunctions"]["execute_state_machine"] is False

    # When a runtime, which executes them, starts and stops in this process
    with running(tmp_path, smtp=False):
        assert default_user_config["stepfunctions"]["execute_state_machine"] is True

    # Then moto is back to storing them: a later mock's executions wait for no runtime
    assert default_user_config["stepfunctions"]["execute_state_machine"] is False
