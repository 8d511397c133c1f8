"""The collections loop in the synthesized template: the sweep on its schedule, the decide queue
and its dead-letter queue, decide reading the queue, and what each function may do and is told.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.constructs import collections
from infra.manifest import (
    DECIDE,
    DECIDE_QUEUE,
    INBOX,
    LEDGER,
    SWEEP,
    SWEEP_SCHEDULE,
    Function,
)
from infra.settings import DEFAULT_SWEEP_SCHEDULE
from shared.approvals.settings import ApprovalSettings
from shared.collections.store import REVIEW_INDEX
from shared.collections.sweep import SweepSettings
from shared.outreach.settings import OutreachSettings
from shared.settings import Settings
from tests.infra.stack_synth import (
    BASE_VARIABLES,
    DEPLOY_CONTEXT,
    Synthesized,
    actions_of,
    allows,
    queue_refuses_plain_http,
    resolve,
    resources_of,
)

pytestmark = pytest.mark.infra

QUEUE_ARN = {"Fn::GetAtt": [DECIDE_QUEUE.logical_id, "Arn"]}
DEAD_LETTERS_ARN = {"Fn::GetAtt": [DECIDE_QUEUE.dead_letter_logical_id, "Arn"]}
LEDGER_ARN = {"Fn::GetAtt": [LEDGER.logical_id, "Arn"]}
# The most decide batches in flight at once that still counts as bounded: ten accounts each,
# every one of which may call a model.
MOST_CONCURRENT_BATCHES = 20


def variables(synthesized: Synthesized, spec: Function) -> dict[str, Any]:
    environment: dict[str, Any] = synthesized.function(spec)[1]["Environment"]["Variables"]
    return environment


def deployed_environment(synthesized: Synthesized, spec: Function) -> dict[str, str]:
    environment = {name: resolve(value) for name, value in variables(synthesized, spec).items()}
    # A queue's Ref is its URL once deployed.
    if environment.get(DECIDE_QUEUE.env_var) == resolve({"Ref": DECIDE_QUEUE.logical_id}):
        environment[DECIDE_QUEUE.env_var] = (
            "https://sqs.eu-west-1.amazonaws.com/123456789012/Autoar-DecideQueue"
        )
    return environment


def statements_on(synthesized: Synthesized, spec: Function, service: str) -> list[dict[str, Any]]:
    """The function's Allow statements with any action of `service` (e.g. "sqs")."""
    return [
        statement
        for statement in synthesized.function_statements(spec)
        if statement["Effect"] == "Allow"
        and any(action.startswith(f"{service}:") for action in actions_of(statement))
    ]


def test_the_schedule_invokes_the_sweep_as_the_deploy_setting_says(
    synthesized: Synthesized,
) -> None:
    sweep_id, _ = synthesized.function(SWEEP)

    # Given every EventBridge rule that targets the sweep
    [rule] = [
        rule["Properties"]
        for rule in synthesized.of_type("AWS::Events::Rule").values()
        if {"Fn::GetAtt": [sweep_id, "Arn"]} in [t["Arn"] for t in rule["Properties"]["Targets"]]
    ]

    # Then it runs on the deploy setting, not the manifest's or the setting's default schedule
    assert rule["ScheduleExpression"] == DEPLOY_CONTEXT["sweepSchedule"]
    assert rule["ScheduleExpression"] not in {SWEEP_SCHEDULE.expression, DEFAULT_SWEEP_SCHEDULE}
    assert rule["State"] == "ENABLED"
    assert len(rule["Targets"]) == 1


def test_only_eventbridge_invokes_the_sweep_for_its_rule(synthesized: Synthesized) -> None:
    sweep_id, _ = synthesized.function(SWEEP)

    [permission] = [
        permission["Properties"]
        for permission in synthesized.of_type("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [sweep_id, "Arn"]}
    ]

    assert permission["Principal"] == "events.amazonaws.com"
    [rule_id] = [
        logical_id
        for logical_id, rule in synthesized.of_type("AWS::Events::Rule").items()
        if {"Fn::GetAtt": [sweep_id, "Arn"]} in [t["Arn"] for t in rule["Properties"]["Targets"]]
    ]
    assert permission["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}


def test_sweep_may_only_send_to_the_decide_queue(synthesized: Synthesized) -> None:
    [statement] = statements_on(synthesized, SWEEP, "sqs")

    assert actions_of(statement) == ["sqs:SendMessage"]
    assert resources_of(statement) == [QUEUE_ARN]


def test_sweep_may_only_query_the_next_review_index(synthesized: Synthesized) -> None:
    [statement] = statements_on(synthesized, SWEEP, "dynamodb")

    assert actions_of(statement) == ["dynamodb:Query"]
    assert resources_of(statement) == [{"Fn::Join": ["", [LEDGER_ARN, f"/index/{REVIEW_INDEX}"]]}]
    assert REVIEW_INDEX in {index.name for index in LEDGER.indexes}


def test_sweep_touches_nothing_but_the_index_and_the_queue(synthesized: Synthesized) -> None:
    services = {
        action.split(":")[0]
        for statement in synthesized.function_statements(SWEEP)
        for action in actions_of(statement)
    }

    assert services == {"logs", "xray", "dynamodb", "sqs"}


def test_sweep_is_told_the_resource_names_and_the_queue_url(synthesized: Synthesized) -> None:
    assert set(variables(synthesized, SWEEP)) == BASE_VARIABLES | {DECIDE_QUEUE.env_var}
    assert variables(synthesized, SWEEP)[DECIDE_QUEUE.env_var] == {"Ref": DECIDE_QUEUE.logical_id}

    # The settings models the sweep reads at cold start accept what the stack gives it
    environment = deployed_environment(synthesized, SWEEP)
    Settings.from_env(environment)
    SweepSettings.from_env(environment)


def test_decide_takes_the_queue_in_batches_reporting_failures_at_bounded_concurrency(
    synthesized: Synthesized,
) -> None:
    decide_id, _ = synthesized.function(DECIDE)

    # Given every event source mapping reading the decide queue
    [mapping] = [
        mapping["Properties"]
        for mapping in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["EventSourceArn"] == QUEUE_ARN
    ]

    # Then decide alone reads it, in the manifest's batches, naming only the messages it failed
    assert mapping["FunctionName"] == {"Ref": decide_id}
    assert mapping["BatchSize"] == DECIDE_QUEUE.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.get("Enabled", True) is True

    # And only so many batches at a time, whatever one sweep queued
    concurrency = mapping["ScalingConfig"]["MaximumConcurrency"]
    assert concurrency == DECIDE_QUEUE.max_concurrency
    assert 2 <= concurrency <= MOST_CONCURRENT_BATCHES


def test_decide_queue_redrives_to_its_dead_letter_queue(synthesized: Synthesized) -> None:
    queue = synthesized.resources[DECIDE_QUEUE.logical_id]["Properties"]

    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": DEAD_LETTERS_ARN,
        "maxReceiveCount": DECIDE_QUEUE.max_receive_count,
    }


def test_decide_queue_hides_a_batch_for_six_times_decides_timeout(
    synthesized: Synthesized,
) -> None:
    queue = synthesized.resources[DECIDE_QUEUE.logical_id]["Properties"]
    _, decide = synthesized.function(DECIDE)

    assert queue["VisibilityTimeout"] == DECIDE_QUEUE.visibility_timeout_seconds
    assert queue["VisibilityTimeout"] >= 6 * decide["Timeout"]


def test_decide_queues_keep_messages_as_the_manifest_says(synthesized: Synthesized) -> None:
    queue = synthesized.resources[DECIDE_QUEUE.logical_id]["Properties"]
    dead_letters = synthesized.resources[DECIDE_QUEUE.dead_letter_logical_id]["Properties"]

    assert queue["MessageRetentionPeriod"] == DECIDE_QUEUE.retention_days * 86400
    assert dead_letters["MessageRetentionPeriod"] == DECIDE_QUEUE.dead_letter_retention_days * 86400
    assert "RedrivePolicy" not in dead_letters


def test_every_queue_is_encrypted_and_refuses_plain_http(synthesized: Synthesized) -> None:
    queues = synthesized.of_type("AWS::SQS::Queue")

    assert {DECIDE_QUEUE.logical_id, DECIDE_QUEUE.dead_letter_logical_id} <= set(queues)
    for queue_id, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") or properties.get("KmsMasterKeyId"), queue_id
        assert queue_refuses_plain_http(synthesized, queue_id), queue_id


def test_decide_is_told_everything_its_settings_models_read(synthesized: Synthesized) -> None:
    environment = deployed_environment(synthesized, DECIDE)

    # The models decide reads at its first invocation accept what the stack gives it
    Settings.from_env(environment)
    outreach = OutreachSettings.from_env(environment)
    approvals = ApprovalSettings.from_env(environment)
    assert outreach.sender_address == approvals.sender_address == DEPLOY_CONTEXT["senderAddress"]
    assert outreach.mail_domain == DEPLOY_CONTEXT["mailDomain"]
    assert approvals.policy_source.startswith("appconfig:")
    [configuration_set_id] = synthesized.of_type("AWS::SES::ConfigurationSet")
    assert outreach.configuration_set == resolve({"Ref": configuration_set_id})


def test_decide_may_read_invoice_documents_and_nothing_else_of_the_inbox(
    synthesized: Synthesized,
) -> None:
    read, listing = statements_on(synthesized, DECIDE, "s3")
    inbox_arn = {"Fn::GetAtt": [INBOX.logical_id, "Arn"]}

    assert actions_of(read) == ["s3:GetObject"]
    assert resources_of(read) == [{"Fn::Join": ["", [inbox_arn, f"/{INBOX.documents_prefix}*"]]}]
    # Listing that prefix alone, so a PDF not stored reads as missing rather than forbidden
    assert actions_of(listing) == ["s3:ListBucket"]
    assert resources_of(listing) == [inbox_arn]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": f"{INBOX.documents_prefix}*"}}


def test_decide_may_receive_and_delete_on_its_queue_but_never_send(
    synthesized: Synthesized,
) -> None:
    statements = statements_on(synthesized, DECIDE, "sqs")

    assert statements
    for statement in statements:
        assert resources_of(statement) == [QUEUE_ARN]
        assert "sqs:SendMessage" not in actions_of(statement)
    assert any(allows(statement, "sqs:DeleteMessage") for statement in statements)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"visibility_timeout_seconds": 6 * DECIDE.timeout_seconds - 1}, "visibility timeout"),
        ({"batch_size": 11}, "a batch of 1 to 10"),
    ],
)
def test_a_queue_the_loop_cannot_run_on_is_refused_by_the_manifest(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        dataclasses.replace(DECIDE_QUEUE, **change)


def test_a_queue_whose_retries_would_raise_its_backlog_alarm_stops_synth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    retried_longer = dataclasses.replace(DECIDE_QUEUE, max_receive_count=10)
    monkeypatch.setattr(collections, "DECIDE_QUEUE", retried_longer)

    with pytest.raises(ValueError, match="backlog alarm"):
        collections.check_manifest()
