"""Outbound mail in the synthesized template: the SES configuration set decide sends with, the
encrypted topic its bounces and complaints go to, and the mail_events function behind it.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.outbound_mail import CONFIGURATION_SET_VARIABLE, MAIL_EVENTS
from infra.manifest import AUDIT, DECIDE, LEDGER
from shared.settings import Settings
from tests.infra.stack_synth import (
    BASE_VARIABLES,
    DEPLOY_CONTEXT,
    Synthesized,
    actions_of,
    flatten,
    queue_refuses_plain_http,
    resolve,
    resources_of,
)

pytestmark = pytest.mark.infra

SES = {"Service": "ses.amazonaws.com"}
FEEDBACK = {"bounce", "complaint"}


def one(synthesized: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = synthesized.of_type(resource_type).items()
    return logical_id, resource["Properties"]


def feedback_topic(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    """The topic the configuration set sends bounces and complaints to."""
    _, destination = one(synthesized, "AWS::SES::ConfigurationSetEventDestination")
    topic_id = destination["EventDestination"]["SnsDestination"]["TopicARN"]["Ref"]
    return topic_id, synthesized.resources[topic_id]["Properties"]


def topic_statements(synthesized: Synthesized, topic_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synthesized.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in policy["Properties"]["Topics"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_bounces_and_complaints_go_from_the_configuration_set_to_a_topic(
    synthesized: Synthesized,
) -> None:
    configuration_set_id, configuration_set = one(synthesized, "AWS::SES::ConfigurationSet")
    _, destination = one(synthesized, "AWS::SES::ConfigurationSetEventDestination")

    assert destination["ConfigurationSetName"] == {"Ref": configuration_set_id}
    event_destination = destination["EventDestination"]
    assert event_destination["Enabled"] is True
    # Bounces and complaints only: sends or deliveries would invoke mail_events for every email
    assert set(event_destination["MatchingEventTypes"]) == FEEDBACK
    topic_id, _ = feedback_topic(synthesized)
    assert synthesized.resources[topic_id]["Type"] == "AWS::SNS::Topic"
    # And addresses that bounced or complained before are not mailed again
    assert configuration_set["SuppressionOptions"]["SuppressedReasons"] == ["BOUNCE", "COMPLAINT"]


def test_the_topic_is_encrypted_with_a_key_ses_may_use(synthesized: Synthesized) -> None:
    _, topic = feedback_topic(synthesized)

    key_id, attribute = topic["KmsMasterKeyId"]["Fn::GetAtt"]
    assert attribute == "Arn"
    key = synthesized.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    [for_ses] = [s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == SES]
    assert set(for_ses["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert for_ses["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_only_this_configuration_set_may_publish_and_only_over_tls(
    synthesized: Synthesized,
) -> None:
    topic_id, _ = feedback_topic(synthesized)
    configuration_set_id, _ = one(synthesized, "AWS::SES::ConfigurationSet")
    statements = topic_statements(synthesized, topic_id)

    assert any(
        statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in statements
    )
    [allowed] = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert allowed["Principal"] == SES
    assert allowed["Action"] == "sns:Publish"
    source_arn = resolve(allowed["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert source_arn.endswith(f":configuration-set/{configuration_set_id}-deployed")


def test_mail_events_is_subscribed_to_the_topic_with_a_dead_letter_queue(
    synthesized: Synthesized,
) -> None:
    topic_id, _ = feedback_topic(synthesized)
    function_id, _ = synthesized.function(MAIL_EVENTS)

    [subscription] = [
        s["Properties"]
        for s in synthesized.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]

    assert subscription["Protocol"] == "lambda"
    assert subscription["Endpoint"] == {"Fn::GetAtt": [function_id, "Arn"]}
    queue_id, _ = subscription["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"]
    assert synthesized.resources[queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    assert queue_refuses_plain_http(synthesized, queue_id)


def test_only_the_topic_invokes_mail_events(synthesized: Synthesized) -> None:
    topic_id, _ = feedback_topic(synthesized)
    function_id, _ = synthesized.function(MAIL_EVENTS)

    [permission] = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]

    assert permission["Principal"] == "sns.amazonaws.com"
    assert permission["SourceArn"] == {"Ref": topic_id}


def test_mail_events_may_change_the_ledger_and_append_to_the_audit_trail_only(
    synthesized: Synthesized,
) -> None:
    # Given what mail_events' role allows beyond its logs and traces
    every = synthesized.function_statements(MAIL_EVENTS)
    outside = [s for s in every if not any(a.startswith(("logs:", "xray:")) for a in actions_of(s))]
    # Its only SQS access is sending what it failed on to its own failed-events queue
    [failures] = [s for s in outside if any(a.startswith("sqs:") for a in actions_of(s))]
    assert "sqs:SendMessage" in actions_of(failures)
    assert not any(a.startswith(("sqs:Receive", "sqs:Delete")) for a in actions_of(failures))
    [(queue_id, _attribute)] = [r["Fn::GetAtt"] for r in resources_of(failures)]
    assert "FailedEvents" in queue_id
    statements = [s for s in outside if s is not failures]

    # Then it is DynamoDB on the ledger and the audit table, and nothing else
    assert all(action.startswith("dynamodb:") for s in statements for action in actions_of(s))
    tables = [
        table
        for statement in statements
        for resource in resources_of(statement)
        for table in (LEDGER.logical_id, AUDIT.logical_id)
        if table in flatten(resource)
    ]
    assert len(tables) == sum(len(resources_of(statement)) for statement in statements)
    assert set(tables) == {LEDGER.logical_id, AUDIT.logical_id}
    assert any(
        "dynamodb:UpdateItem" in actions_of(s) and LEDGER.logical_id in flatten(s["Resource"])
        for s in statements
    )


def test_mail_events_is_told_the_resource_names_only(synthesized: Synthesized) -> None:
    environment = synthesized.function(MAIL_EVENTS)[1]["Environment"]["Variables"]

    assert set(environment) == BASE_VARIABLES
    Settings.from_env({name: resolve(value) for name, value in environment.items()})


def test_decide_sends_with_the_configuration_set_that_reports_bounces(
    synthesized: Synthesized,
) -> None:
    configuration_set_id, _ = one(synthesized, "AWS::SES::ConfigurationSet")
    environment = synthesized.function(DECIDE)[1]["Environment"]["Variables"]

    assert environment[CONFIGURATION_SET_VARIABLE] == {"Ref": configuration_set_id}
    assert environment["SENDER_ADDRESS"] == DEPLOY_CONTEXT["senderAddress"]
    assert environment["MAIL_DOMAIN"] == DEPLOY_CONTEXT["mailDomain"]
    assert environment["SENDER_NAME"] == DEPLOY_CONTEXT["senderName"]
