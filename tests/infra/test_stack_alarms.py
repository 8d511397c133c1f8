"""The alarms watching every function, failed-event and dead-letter queue, the decide queue's
backlog, the REST APIs, the approval state machine and the ledger, and where they are sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.constructs.collections import DECIDE_BACKLOG_ALARM
from infra.constructs.outbound_mail import MAIL_EVENTS
from infra.manifest import APPROVAL_STATE_MACHINE, FUNCTIONS, LEDGER, Function
from tests.infra.stack_synth import Synthesized

pytestmark = pytest.mark.infra

# The manifest's functions, and those the stack deploys that it does not list yet.
DEPLOYED_FUNCTIONS = (
    *FUNCTIONS,
    *(spec for spec in (MAIL_EVENTS,) if spec.name not in {f.name for f in FUNCTIONS}),
)


def alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()]


def watched_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metric an alarm watches, or each metric inside its metric-math expression."""
    if "MetricName" in alarm:
        return [{key: alarm.get(key) for key in ("Namespace", "MetricName", "Dimensions")}]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def watches(alarm: dict[str, Any], namespace: str, metric_name: str | None = None) -> bool:
    return any(
        metric["Namespace"] == namespace and metric_name in (None, metric["MetricName"])
        for metric in watched_metrics(alarm)
    )


def dimension_values(alarm: dict[str, Any], name: str) -> list[Any]:
    return [
        dimension["Value"]
        for metric in watched_metrics(alarm)
        for dimension in metric.get("Dimensions") or []
        if dimension["Name"] == name
    ]


def table_names(alarm: dict[str, Any]) -> list[Any]:
    return dimension_values(alarm, "TableName")


@pytest.mark.parametrize("spec", DEPLOYED_FUNCTIONS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_alarm_on(
    synthesized: Synthesized, spec: Function, metric: str
) -> None:
    function_id, _ = synthesized.function(spec)

    watching = [
        alarm
        for alarm in alarms(synthesized)
        if watches(alarm, "AWS/Lambda", metric)
        and dimension_values(alarm, "FunctionName") == [{"Ref": function_id}]
    ]

    assert len(watching) == 1
    assert watching[0]["AlarmActions"], "the alarm notifies someone"


def consumed_queues(synthesized: Synthesized) -> set[str]:
    """The queues a function reads through an event source mapping: work queues."""
    return {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for mapping in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    }


def test_every_queue_no_function_reads_alarms_on_its_first_waiting_message(
    synthesized: Synthesized,
) -> None:
    # A queue nothing reads holds failed events or dead letters: one message is work not done.
    queues = set(synthesized.of_type("AWS::SQS::Queue")) - consumed_queues(synthesized)

    assert queues
    for queue_id in queues:
        [alarm] = [
            alarm
            for alarm in alarms(synthesized)
            if watches(alarm, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
            and dimension_values(alarm, "QueueName") == [{"Fn::GetAtt": [queue_id, "QueueName"]}]
        ]
        assert alarm["Statistic"] == "Maximum"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"], "the alarm notifies someone"


def test_every_work_queue_alarms_when_its_oldest_message_waits_too_long(
    synthesized: Synthesized,
) -> None:
    queues = consumed_queues(synthesized)

    assert queues
    for queue_id in queues:
        [alarm] = [
            alarm
            for alarm in alarms(synthesized)
            if watches(alarm, "AWS/SQS", "ApproximateAgeOfOldestMessage")
            and dimension_values(alarm, "QueueName") == [{"Fn::GetAtt": [queue_id, "QueueName"]}]
        ]
        assert alarm["Statistic"] == "Maximum"
        assert alarm["Threshold"] == DECIDE_BACKLOG_ALARM.to_seconds()
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"], "the alarm notifies someone"
        # A work queue's own messages are not alarmed one by one: only its dead letters are.
        assert not [
            alarm
            for alarm in alarms(synthesized)
            if watches(alarm, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
            and dimension_values(alarm, "QueueName") == [{"Fn::GetAtt": [queue_id, "QueueName"]}]
        ]


@pytest.mark.parametrize(
    ("namespace", "metric"),
    [
        ("AWS/DynamoDB", "SystemErrors"),
        ("AWS/DynamoDB", "ThrottledRequests"),
    ],
)
def test_an_alarm_watches(synthesized: Synthesized, namespace: str, metric: str) -> None:
    watching = [alarm for alarm in alarms(synthesized) if watches(alarm, namespace, metric)]

    assert len(watching) == 1
    assert watching[0]["AlarmActions"], "the alarm notifies someone"


def test_every_rest_api_alarms_on_server_errors(synthesized: Synthesized) -> None:
    apis = synthesized.of_type("AWS::ApiGateway::RestApi")

    assert len(apis) == 2, "the integrator API and the approval page's"
    for api in apis.values():
        watching = [
            alarm
            for alarm in alarms(synthesized)
            if watches(alarm, "AWS/ApiGateway", "5XXError")
            and dimension_values(alarm, "ApiName") == [api["Properties"]["Name"]]
        ]
        assert len(watching) == 1
        assert watching[0]["AlarmActions"], "the alarm notifies someone"


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut"])
def test_approval_executions_alarm_when_they_fail_or_time_out(
    synthesized: Synthesized, metric: str
) -> None:
    watching = [
        alarm
        for alarm in alarms(synthesized)
        if watches(alarm, "AWS/States", metric)
        and dimension_values(alarm, "StateMachineArn")
        == [{"Ref": APPROVAL_STATE_MACHINE.logical_id}]
    ]

    assert len(watching) == 1
    assert watching[0]["Threshold"] == 1
    assert watching[0]["AlarmActions"], "the alarm notifies someone"


def test_dynamodb_alarms_watch_the_ledger(synthesized: Synthesized) -> None:
    table_alarms = [alarm for alarm in alarms(synthesized) if watches(alarm, "AWS/DynamoDB")]

    assert table_alarms
    for alarm in table_alarms:
        assert table_names(alarm)
        assert all(name == {"Ref": LEDGER.logical_id} for name in table_names(alarm))


def test_alarms_go_to_an_encrypted_tls_only_topic_with_the_alarm_email(
    synthesized: Synthesized,
) -> None:
    # Given the one topic every alarm notifies
    [topic_id] = {
        action["Ref"] for alarm in alarms(synthesized) for action in alarm["AlarmActions"]
    }

    assert synthesized.resources[topic_id]["Type"] == "AWS::SNS::Topic"
    assert "KmsMasterKeyId" in synthesized.resources[topic_id]["Properties"]
    for alarm in alarms(synthesized):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": {"Ref": topic_id}},
    )
    synthesized.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )
