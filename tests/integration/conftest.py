"""Approvals on moto: the real approval state machine executing, its tasks run by the real
handlers, a signing secret, a sender identity and a policy file.

A test module takes this world by overriding the `aws` fixture with `step_functions_aws`;
every other fixture (`services` among them) then runs on it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.ses.models import ses_backends

from infra.local import moto_patches
from infra.local.provision import (
    create_functions,
    create_signing_secret,
    create_state_machine,
    function_name,
    provision,
)
from infra.local.router import EventRouter
from infra.manifest import APPROVAL_REQUEST, APPROVAL_STATE_MACHINE, EXECUTE
from shared.actions.models import WriteOff
from shared.approvals.models import ApprovalRequest, Evidence
from shared.approvals.service import ApprovalGate
from shared.approvals.settings import ApprovalSettings
from shared.audit.models import Actor, ActorKind
from tests.factories import invoice, profile

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SENDER = "receivables@ar.example.com"
BASE_URL = "https://approvals.ar.example.com"
AGENT = Actor(kind=ActorKind.AGENT, id="decide")
FIRST, SECOND, FALLBACK = "ar-lead@example.com", "controller@example.com", "cfo@example.com"

POLICY = f"""\
version: "test-1"
base_currency: EUR
approvals:
  fallback_approver: {FALLBACK}
  rules:
    - name: write-offs from 50 EUR
      action: write_off
      min_amount: "50"
      approvers: [{FIRST}, {SECOND}]
      hours_per_approver: 1
"""

T = TypeVar("T")


@pytest.fixture
def step_functions_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """moto with Step Functions executing the manifest's approval state machine."""
    moto_patches.install()
    router = EventRouter({})
    monkeypatch.setattr(LambdaFunction, "invoke", _routed_to(router))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        environment = {
            **provision(boto3.client("dynamodb"), boto3.client("s3")),
            "REVIEW_SHARDS": "4",
            "POWERTOOLS_SERVICE_NAME": "autoar",
        }
        functions = (APPROVAL_REQUEST, EXECUTE)
        for function in functions:
            router.register(function_name(function), function)
        iam = boto3.client("iam")
        arns = create_functions(boto3.client("lambda"), iam, functions, environment)
        stepfunctions = boto3.client("stepfunctions")
        policy = tmp_path / "policy.yaml"
        policy.write_text(POLICY)
        environment |= {
            APPROVAL_STATE_MACHINE.env_var: create_state_machine(
                stepfunctions, iam, APPROVAL_STATE_MACHINE, arns
            ),
            "APPROVAL_SIGNING_SECRET_ARN": create_signing_secret(boto3.client("secretsmanager")),
            "APPROVAL_BASE_URL": BASE_URL,
            "SENDER_ADDRESS": SENDER,
            "POLICY_SOURCE": f"file:{policy}",
        }
        boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        yield environment
        _stop_running(stepfunctions, environment[APPROVAL_STATE_MACHINE.env_var])
        router.shutdown()


@pytest.fixture
def approvals_configured(aws, monkeypatch, tmp_path):
    """Approval settings and a signing secret on plain moto, whose Step Functions stores the
    state machine and its executions without running them: a test delivers the tasks itself."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    settings = stored_approval_settings(policy)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def stored_approval_settings(policy: Path) -> dict[str, str]:
    """The approval functions' settings on moto that stores the state machine without running
    it (its tasks' ARNs are never invoked), with a signing secret and the policy file."""
    arns = {"approval_request": "arn:aws:lambda:::function:ask", "execute": "arn:aws:lambda:::x"}
    return {
        APPROVAL_STATE_MACHINE.env_var: create_state_machine(
            boto3.client("stepfunctions"), boto3.client("iam"), APPROVAL_STATE_MACHINE, arns
        ),
        "APPROVAL_SIGNING_SECRET_ARN": create_signing_secret(boto3.client("secretsmanager")),
        "APPROVAL_BASE_URL": BASE_URL,
        "SENDER_ADDRESS": SENDER,
        "POLICY_SOURCE": f"file:{policy}",
    }


@pytest.fixture
def sender_verified(approvals_configured):
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)


@pytest.fixture
def approval_gate(services, approvals_configured) -> ApprovalGate:
    return ApprovalGate.from_services(services, ApprovalSettings.from_env())


@pytest.fixture
def requested_write_off(services, integrator, approval_gate) -> ApprovalRequest:
    """ACME's invoice INV-1 (1200.00 EUR) and a write-off of it, requested; nobody asked yet."""
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_invoices([invoice("INV-1")], integrator)
    return approval_gate.request(write_off_request())


def write_off_request(
    approval_id: str = "apr_test0001",
    amount: str = "1200.00",
    invoice_number: str = "INV-1",
    **overrides: Any,
) -> ApprovalRequest:
    """A write-off proposed by the agent, waiting under the test policy's rule."""
    fields: dict[str, Any] = {
        "approval_id": approval_id,
        "decision_id": f"decision-{approval_id}",
        "account_id": "ACME",
        "account_name": "Acme GmbH",
        "action": WriteOff(
            account_id="ACME",
            invoice_number=invoice_number,
            currency="EUR",
            amount=Decimal(amount),
            reason="Customer insolvent; administrator expects no dividend",
        ),
        "rationale": "Insolvency notice received; nothing paid for 210 days.",
        "evidence": [Evidence(label="Customer's reply", detail="We are <b>insolvent</b>.")],
        "policy_version": "test-1",
        "policy_rule": "write-offs from 50 EUR",
        "approvers": [FIRST, SECOND],
        "hours_per_approver": 1,
        "requested_by": AGENT,
        "requested_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    }
    return ApprovalRequest(**{**fields, **overrides})


def sent_emails() -> list[EmailMessage]:
    """Every message moto's SES sent, parsed."""
    return [
        email.message_from_string(message.raw_data, policy=email.policy.default)
        for message in ses_backends[ACCOUNT][REGION].sent_messages
    ]


def emails_to(address: str) -> list[EmailMessage]:
    return [message for message in sent_emails() if message["To"] == address]


def eventually(check: Callable[[], T], seconds: float = 20.0) -> T:
    """The first truthy result of `check`, polled until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def finished_execution(execution_arn: str, seconds: float = 30.0) -> dict[str, Any]:
    stepfunctions = boto3.client("stepfunctions")

    def finished() -> dict[str, Any] | None:
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
        return None if execution["status"] == "RUNNING" else dict(execution)

    result = eventually(finished, seconds)
    assert result is not None, "the execution is still running"
    return result


def execution_arn(approval_id: str) -> str:
    """The execution of an approval: named after it, under the approval state machine."""
    machine = os.environ[APPROVAL_STATE_MACHINE.env_var]
    return machine.replace(":stateMachine:", ":execution:") + f":{approval_id}"


def _routed_to(router: EventRouter) -> Callable[..., str]:
    def invoke(function: LambdaFunction, body: Any, request_headers: Any, _: Any) -> str:
        return router.moto_invoke(function.function_name, body, request_headers)

    return invoke


def _stop_running(stepfunctions: Any, machine_arn: str) -> None:
    """Stop executions a test left waiting, so no timer fires after moto is gone."""
    running = stepfunctions.list_executions(stateMachineArn=machine_arn, statusFilter="RUNNING")
    for execution in running["executions"]:
        stepfunctions.stop_execution(executionArn=execution["executionArn"])


def output_of(execution: dict[str, Any]) -> dict[str, Any]:
    output: dict[str, Any] = json.loads(execution.get("output") or "{}")
    return output
