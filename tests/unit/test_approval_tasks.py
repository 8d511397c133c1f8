"""Approval ids, the chain of approvers, and the payloads the state machine hands its tasks."""

import pytest

from events import load
from shared.approvals.execution import Reported
from shared.approvals.ids import approval_id_for, check_approval_id
from shared.approvals.service import Escalation, approval_chain
from shared.approvals.tasks import AskTask, EscalateTask, approval_task, close_task
from shared.errors import InvalidInput


def test_an_approval_id_is_opaque_stable_and_usable_as_an_execution_name():
    approval_id = approval_id_for("ACME/decision 2026-03-02#1")

    assert approval_id == approval_id_for("ACME/decision 2026-03-02#1")
    assert approval_id != approval_id_for("ACME/decision 2026-03-02#2")
    assert "ACME" not in approval_id
    assert check_approval_id(approval_id) == approval_id


@pytest.mark.parametrize("approval_id", ["", "a" * 81, "apr/1", "apr 1", "apr#1"])
def test_an_approval_id_a_url_or_execution_name_cannot_carry_is_refused(approval_id):
    with pytest.raises(InvalidInput):
        check_approval_id(approval_id)


def test_the_chain_is_the_rules_approvers_then_the_fallback_once():
    assert approval_chain(["A@example.com", "b@example.com"], "c@example.com") == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert approval_chain(["c@example.com", "b@example.com"], "C@example.com") == [
        "c@example.com",
        "b@example.com",
    ]


def test_an_escalation_answers_the_choice_the_state_machine_makes():
    assert Escalation(expired=True).task_result() == {"expired": True}
    assert Escalation(False, 2, 3600).task_result() == {
        "expired": False,
        "next_step": 2,
        "timeout_seconds": 3600,
    }


def test_the_sample_payloads_read_as_their_tasks():
    ask = approval_task(load("stepfunctions/approval_request"))
    escalate = approval_task(load("stepfunctions/approval_escalate"))

    assert isinstance(ask, AskTask)
    assert isinstance(escalate, EscalateTask)
    assert ask.step == escalate.step == 0
    for sample, reported in [
        ("execute_approved", Reported.APPROVED),
        ("execute_rejected", Reported.REJECTED),
        ("execute_expired", Reported.EXPIRED),
        ("execute_failed", Reported.FAILED),
    ]:
        assert close_task(load(f"stepfunctions/{sample}")).outcome is reported


def test_the_task_token_never_shows_in_a_repr_or_a_refusal():
    event = load("stepfunctions/approval_request")
    token = event["task_token"]

    task = approval_task(event)
    with pytest.raises(InvalidInput) as refused:
        approval_task({**event, "step": "first"})

    assert task.task_token.get_secret_value() == token
    assert token not in repr(task)
    assert token not in str(task)
    assert refused.value.field == "step"
    assert token not in str(refused.value)


def test_a_close_task_with_an_outcome_it_does_not_know_is_refused():
    with pytest.raises(InvalidInput) as refused:
        close_task({"approval_id": "apr_1", "outcome": "maybe"})

    assert refused.value.field == "outcome"
