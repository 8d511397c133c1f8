"""approval_request on moto: each step's approver is emailed once, however often the task comes,
and a lapsed step moves the approval on to the next approver, then to expiry.

Step Functions here only stores executions (it does not run them), so each test delivers the
tasks itself, as the state machine would, redeliveries included.
"""

from datetime import timedelta

import boto3
import pytest

from events import load
from functions.approval_request.handler import lambda_handler
from infra.local.lambda_context import LambdaContext
from shared.actions.models import ActionKind
from shared.approvals.errors import AlreadyDecided, NotAwaitingApprover
from shared.approvals.models import ApprovalStatus, Decision
from shared.approvals.store import Waiting
from shared.errors import InvalidInput
from tests.conftest import START
from tests.integration.conftest import (
    BASE_URL,
    FALLBACK,
    FIRST,
    SECOND,
    SENDER,
    emails_to,
    sent_emails,
)

TOKEN = "token-of-step-0"
NO_METRICS = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def gate(approval_gate):
    return approval_gate


@pytest.fixture
def approval_id(requested_write_off):
    return requested_write_off.approval_id


def ask(approval_id: str, step: int = 0, token: str = TOKEN) -> dict:
    event = load("stepfunctions/approval_request")
    event.update(approval_id=approval_id, step=step, task_token=token)
    return lambda_handler(event, LambdaContext("autoar-approval-request"))


def escalate(approval_id: str, step: int) -> dict:
    event = load("stepfunctions/approval_escalate")
    event.update(approval_id=approval_id, step=step)
    return lambda_handler(event, LambdaContext("autoar-approval-request"))


def actions(services):
    return [event.action for event in services.audit.events("ACME")]


@pytest.mark.usefixtures("sender_verified")
def test_a_redelivered_task_emails_the_approver_once_and_keeps_the_first_deadline(
    services, gate, approval_id, clock
):
    # Given the approver was asked for step 0
    assert ask(approval_id) == {"asked": True}
    first_deadline = gate.get(approval_id).expires_at

    # When the same task arrives again, later, with a new token
    clock.advance(timedelta(minutes=5))
    assert ask(approval_id, token="token-of-the-retry") == {"asked": True}

    # Then one email went out, the deadline stands, and the newest token is the one kept
    assert len(emails_to(FIRST)) == 1
    assert first_deadline == START + timedelta(hours=1)
    assert gate.get(approval_id).expires_at == first_deadline
    assert gate.store.task_token(approval_id, 0) == "token-of-the-retry"
    assert actions(services).count("approval.asked") == 1


@pytest.mark.usefixtures("sender_verified")
def test_the_email_states_the_proposal_and_quotes_customer_text_as_text(approval_id):
    # When the approver is asked
    ask(approval_id)

    # Then the email says what, for whom, how much, why, under which rule and by when
    (message,) = sent_emails()
    text = message.get_body(("plain",)).get_content()
    for fact in (
        "write off 1,200.00 EUR on invoice INV-1 of account ACME",
        "Acme GmbH (ACME)",
        "Customer insolvent",
        "Insolvency notice received",
        'policy rule "write-offs from 50 EUR" (policy version test-1)',
        "Monday 02 March 2026, 10:00 UTC",
        f"{BASE_URL}/approvals/{approval_id}?approver=ar-lead%40example.com",
    ):
        assert fact in text
    html = message.get_body(("html",)).get_content()
    assert "We are &lt;b&gt;insolvent&lt;/b&gt;." in html
    assert "<b>insolvent</b>" not in html
    assert TOKEN not in message.as_string()


@pytest.mark.usefixtures("sender_verified")
def test_a_lapsed_step_moves_to_the_next_approver_who_alone_may_then_decide(
    services, gate, approval_id
):
    # Given the first approver was asked and let the deadline pass
    ask(approval_id)

    # When the execution escalates
    result = escalate(approval_id, 0)

    # Then the next approver is up, with a fresh hour, and the lapse is audited
    assert result == {"expired": False, "next_step": 1, "timeout_seconds": 3600}
    moved = gate.get(approval_id)
    assert (moved.step, moved.current_approver, moved.expires_at) == (1, SECOND, None)
    escalated = services.audit.events("ACME")[-1]
    assert escalated.action == "approval.escalated"
    assert (escalated.inputs["lapsed_approver"], escalated.inputs["next_approver"]) == (
        FIRST,
        SECOND,
    )

    # And the lapsed approver can no longer decide, nor the next one before being asked
    with pytest.raises(NotAwaitingApprover):
        gate.decide(approval_id, FIRST, Decision.APPROVE)
    with pytest.raises(NotAwaitingApprover, match="has not asked anyone yet"):
        gate.decide(approval_id, SECOND, Decision.APPROVE)

    # And once asked, the next approver decides
    ask(approval_id, step=1, token="token-of-step-1")
    assert [m["To"] for m in sent_emails()] == [FIRST, SECOND]
    decided = gate.decide(approval_id, SECOND, Decision.REJECT, "Not yet")
    assert (decided.status, decided.decided_by) == (ApprovalStatus.REJECTED, SECOND)
    with pytest.raises(AlreadyDecided):
        gate.decide(approval_id, SECOND, Decision.APPROVE)


@pytest.mark.usefixtures("sender_verified")
def test_the_chain_runs_out_after_the_fallback_and_escalation_is_idempotent(
    services, gate, approval_id
):
    # Given the chain: the rule's two approvers, then the policy's fallback
    assert gate.get(approval_id).approvers == [FIRST, SECOND, FALLBACK]

    # When each step lapses, and the first escalation is delivered twice
    assert escalate(approval_id, 0)["next_step"] == 1
    assert escalate(approval_id, 0)["next_step"] == 1
    assert escalate(approval_id, 1)["next_step"] == 2

    # Then after the fallback the chain has run out, and nothing moved twice
    assert escalate(approval_id, 2) == {"expired": True}
    assert actions(services).count("approval.escalated") == 2
    assert gate.get(approval_id).step == 2


@pytest.mark.usefixtures("sender_verified")
def test_a_late_task_for_a_step_already_left_sends_nothing(gate, approval_id):
    # Given the approval moved on to step 1
    escalate(approval_id, 0)

    # When a task for step 0 arrives late
    result = ask(approval_id, step=0)

    # Then it is ignored: no email, no token kept
    assert result == {"asked": False}
    assert sent_emails() == []
    assert gate.store.task_token(approval_id, 0) is None


@NO_METRICS
def test_an_email_ses_refuses_is_withdrawn_so_the_retry_sends_it(services, approval_id):
    # Given SES refuses the sender (not verified yet)
    with pytest.raises(Exception, match="MessageRejected"):
        ask(approval_id)
    assert actions(services)[-2:] == ["approval.asked", "approval.ask_failed"]

    # When the sender is verified and Step Functions retries the task
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    assert ask(approval_id) == {"asked": True}

    # Then the approver gets the email once
    assert len(emails_to(FIRST)) == 1
    assert actions(services)[-1] == "approval.asked"


@NO_METRICS
@pytest.mark.usefixtures("approvals_configured")
def test_a_malformed_task_is_refused_without_echoing_its_token():
    event = {"approval_id": "apr_x", "step": -1, "task_token": "secret-token-value"}

    with pytest.raises(InvalidInput) as refused:
        lambda_handler(event, LambdaContext("autoar-approval-request"))

    assert refused.value.field == "step"
    assert "secret-token-value" not in str(refused.value)


def test_what_waits_on_an_account_is_read_from_the_pending_list(gate, requested_write_off):
    # Given ACME's write-off waiting for its first approver
    store = gate.store

    # Then the list names it for ACME, by kind and when it was asked for, and for nobody else
    assert store.waiting_on("ACME") == [
        Waiting(
            approval_id=requested_write_off.approval_id,
            kind=ActionKind.WRITE_OFF,
            requested_at=requested_write_off.requested_at,
        )
    ]
    assert store.waiting_on("GLOBEX") == []

    # And once it is decided, nothing waits on ACME any more
    gate.await_decision(requested_write_off.approval_id, TOKEN, 0)
    gate.decide(requested_write_off.approval_id, FIRST, Decision.APPROVE, "ok", via="test")
    assert store.waiting_on("ACME") == []
