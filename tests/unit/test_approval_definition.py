"""The approval state machine's definition: classic JSONPath only (moto runs no JSONata), every
placeholder one the manifest substitutes, and every path ending in a recorded outcome."""

import json
import re

import pytest

from infra.manifest import APPROVAL_STATE_MACHINE, StateMachine

DEFINITION = json.loads(APPROVAL_STATE_MACHINE.definition_path.read_text())
STATES = DEFINITION["States"]
ARNS = {
    "approval_request": "arn:aws:lambda:eu-west-1:123456789012:function:ask",
    "execute": "arn:aws:lambda:eu-west-1:123456789012:function:execute",
}


def targets(state: dict) -> set[str]:
    found = {state.get("Next"), state.get("Default")}
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return found - {None}


def test_placeholders_are_exactly_the_manifests_substitutions():
    text = APPROVAL_STATE_MACHINE.definition_path.read_text()

    placeholders = set(re.findall(r"\$\{(\w+)\}", text))

    assert placeholders == set(APPROVAL_STATE_MACHINE.substitutions)


def test_substituting_the_function_arns_leaves_valid_json_naming_them():
    definition = json.loads(APPROVAL_STATE_MACHINE.definition(ARNS))

    functions = {
        state["Parameters"]["FunctionName"]
        for state in definition["States"].values()
        if state["Type"] == "Task"
    }
    assert functions == set(ARNS.values())


def test_a_placeholder_the_manifest_does_not_know_is_refused(tmp_path):
    path = tmp_path / "machine.asl.json"
    path.write_text('{"Resource": "${Unknown}"}')
    machine = StateMachine("Machine", "MACHINE_ARN", path, {})

    with pytest.raises(ValueError, match="substitution"):
        machine.definition({})


def test_only_classic_jsonpath_states_are_used():
    text = json.dumps(DEFINITION)

    assert "JSONata" not in text
    for state in STATES.values():
        assert not {"Assign", "Arguments", "Output", "QueryLanguage"} & set(state)


def test_every_transition_reaches_a_state_and_every_state_is_reached():
    reached = {DEFINITION["StartAt"]}
    for state in STATES.values():
        reached |= targets(state)

    assert reached == set(STATES)


def test_asking_waits_for_the_task_token_for_the_inputs_timeout():
    ask = STATES["RequestApproval"]

    assert ask["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert ask["Parameters"]["Payload"] == {
        "task_token.$": "$$.Task.Token",
        "approval_id.$": "$.approval_id",
        "step.$": "$.step",
    }
    assert ask["TimeoutSecondsPath"] == "$.timeout_seconds"
    assert [(c["ErrorEquals"], c["Next"]) for c in ask["Catch"]] == [
        (["States.Timeout"], "Escalate"),
        (["States.ALL"], "RecordFailure"),
    ]


def test_a_lapsed_approver_leads_to_the_next_or_to_expiry():
    assert STATES["Escalate"]["Parameters"]["Payload"]["escalate"] is True
    assert targets(STATES["ChainRunOut"]) == {"Expire", "AskNextApprover"}
    assert STATES["AskNextApprover"]["Next"] == "RequestApproval"
    assert STATES["Expire"]["Parameters"]["Payload"]["outcome"] == "expired"


def test_a_decision_leads_to_execution_or_to_the_recorded_rejection():
    choices = {c["StringEquals"]: c["Next"] for c in STATES["CheckDecision"]["Choices"]}

    assert choices == {"approved": "Execute", "rejected": "RecordRejection"}
    assert STATES["Execute"]["Parameters"]["Payload"]["decision.$"] == "$.decision"


def test_every_failure_is_recorded_before_the_execution_fails():
    for name, state in STATES.items():
        if state["Type"] == "Task" and name != "RecordFailure":
            assert state["Catch"][-1] == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": "RecordFailure",
            }, name
    assert STATES["RecordFailure"]["Parameters"]["Payload"]["outcome"] == "failed"
    assert STATES[STATES["RecordFailure"]["Next"]]["Type"] == "Fail"


def test_failed_tasks_are_retried_before_the_failure_is_recorded():
    # Every task is idempotent, so a retry after a transient failure is always safe.
    for name, state in STATES.items():
        if state["Type"] != "Task" or name == "RecordFailure":
            continue
        retried = [error for retrier in state["Retry"] for error in retrier["ErrorEquals"]]
        assert "Lambda.ServiceException" in retried, name
        assert retried[-1] == "States.TaskFailed", name
