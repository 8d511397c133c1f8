"""The remittance and inbound_mail functions, what invokes them, what they may read, and where
the events they fail on are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.constructs.intake import ASYNC_RETRY_ATTEMPTS
from infra.constructs.outbound_mail import MAIL_EVENTS
from infra.manifest import INBOUND_MAIL, INBOX, REMITTANCE, TABLES, Function
from tests.infra.stack_synth import (
    DEPLOY_CONTEXT,
    Synthesized,
    flatten,
    queue_refuses_plain_http,
)

pytestmark = pytest.mark.infra

INTAKE_FUNCTIONS = (REMITTANCE, INBOUND_MAIL)
# Every function invoked asynchronously (by S3, SES or SNS), and so with a failure queue.
ASYNC_FUNCTIONS = (*INTAKE_FUNCTIONS, MAIL_EVENTS)
POWERTOOLS_LAYER = "017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:"
INBOX_ARN = {"Fn::GetAtt": [INBOX.logical_id, "Arn"]}
# Each function reads only objects under its own prefix, and the versions only where it asks.
INBOX_READS = {
    REMITTANCE.name: (INBOX.remittance_prefix, {"s3:GetObject", "s3:GetObjectVersion"}),
    INBOUND_MAIL.name: (INBOX.mail_prefix, {"s3:GetObject"}),
}


@pytest.mark.parametrize("spec", INTAKE_FUNCTIONS, ids=lambda spec: spec.name)
def test_intake_function_runs_python_on_arm_with_powertools(
    synthesized: Synthesized, spec: Function
) -> None:
    _, properties = synthesized.function(spec)

    assert properties["Architectures"] == ["arm64"]
    assert properties["Runtime"] == "python3.12"
    assert any(POWERTOOLS_LAYER in flatten(layer) for layer in properties["Layers"])
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Timeout"] == spec.timeout_seconds
    assert properties["MemorySize"] == spec.memory_mb


@pytest.mark.parametrize("spec", INTAKE_FUNCTIONS, ids=lambda spec: spec.name)
def test_intake_function_is_told_every_resource_name(
    synthesized: Synthesized, spec: Function
) -> None:
    variables = synthesized.function(spec)[1]["Environment"]["Variables"]

    for table in TABLES:
        assert variables[table.env_var] == {"Ref": table.logical_id}
    assert variables[INBOX.env_var] == {"Ref": INBOX.logical_id}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "autoar"
    assert int(variables["REVIEW_SHARDS"]) >= 1


def test_new_objects_under_the_remittance_prefix_invoke_the_remittance_function(
    synthesized: Synthesized,
) -> None:
    function_id, _ = synthesized.function(REMITTANCE)

    # Given the one notification configuration of the inbox bucket
    [notifications] = [
        resource["Properties"]
        for resource in synthesized.of_type("Custom::S3BucketNotifications").values()
        if resource["Properties"]["BucketName"] == {"Ref": INBOX.logical_id}
    ]

    # Then created objects under the remittance prefix, and only those, go to the function
    configuration = notifications["NotificationConfiguration"]
    assert set(configuration) == {"LambdaFunctionConfigurations"}
    [target] = configuration["LambdaFunctionConfigurations"]
    assert target["Events"] == ["s3:ObjectCreated:*"]
    assert target["Filter"] == {
        "Key": {"FilterRules": [{"Name": "prefix", "Value": INBOX.remittance_prefix}]}
    }
    assert target["LambdaFunctionArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert REMITTANCE.s3_prefix == INBOX.remittance_prefix


def test_only_the_inbox_bucket_of_this_account_may_invoke_the_remittance_function(
    synthesized: Synthesized,
) -> None:
    permission = invoke_permission(synthesized, REMITTANCE, "s3.amazonaws.com")

    assert permission["SourceArn"] == INBOX_ARN
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_the_receipt_rule_stores_mail_for_the_domain_then_invokes_inbound_mail(
    synthesized: Synthesized,
) -> None:
    function_id, _ = synthesized.function(INBOUND_MAIL)

    # Given the one receipt rule, in the one rule set
    [rule_set_id] = synthesized.of_type("AWS::SES::ReceiptRuleSet")
    [rule] = synthesized.of_type("AWS::SES::ReceiptRule").values()
    assert rule["Properties"]["RuleSetName"] == {"Ref": rule_set_id}

    # Then mail to the domain is scanned, stored under the mail prefix, and only then announced
    properties = rule["Properties"]["Rule"]
    assert properties["Recipients"] == [DEPLOY_CONTEXT["mailDomain"]]
    assert properties["Enabled"] is True
    assert properties["ScanEnabled"] is True
    store, invoke = properties["Actions"]
    assert store == {
        "S3Action": {"BucketName": {"Ref": INBOX.logical_id}, "ObjectKeyPrefix": INBOX.mail_prefix}
    }
    assert invoke == {
        "LambdaAction": {
            "FunctionArn": {"Fn::GetAtt": [function_id, "Arn"]},
            "InvocationType": "Event",
        }
    }


def test_ses_may_write_raw_mail_under_the_mail_prefix_only(synthesized: Synthesized) -> None:
    # Given every statement of the inbox bucket's policy that lets SES in
    [policy_id] = [
        logical_id
        for logical_id, policy in synthesized.of_type("AWS::S3::BucketPolicy").items()
        if policy["Properties"]["Bucket"] == {"Ref": INBOX.logical_id}
    ]
    policy = synthesized.resources[policy_id]["Properties"]["PolicyDocument"]
    for_ses = [
        statement
        for statement in policy["Statement"]
        if statement.get("Principal") == {"Service": "ses.amazonaws.com"}
    ]

    # Then it may put objects under the mail prefix, for this account's receipt rules alone
    assert for_ses == [
        {
            "Action": "s3:PutObject",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Resource": object_arn(INBOX.mail_prefix),
        }
    ]
    # And the rule is created after the policy, since SES checks it can write when it is
    [rule] = synthesized.of_type("AWS::SES::ReceiptRule").values()
    assert policy_id in rule["DependsOn"]


def test_ses_needs_no_key_to_write_the_inbox(synthesized: Synthesized) -> None:
    # The receipt rule's S3 action has no key policy grant; that holds while S3 owns the key.
    bucket = synthesized.resources[INBOX.logical_id]["Properties"]
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]

    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_only_ses_for_this_account_may_invoke_inbound_mail(synthesized: Synthesized) -> None:
    permission = invoke_permission(synthesized, INBOUND_MAIL, "ses.amazonaws.com")

    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    [rule] = synthesized.of_type("AWS::SES::ReceiptRule").values()
    assert any(
        synthesized.resources[dependency]["Type"] == "AWS::Lambda::Permission"
        for dependency in rule["DependsOn"]
    )


@pytest.mark.parametrize("spec", INTAKE_FUNCTIONS, ids=lambda spec: spec.name)
def test_intake_function_reads_the_inbox_under_its_own_prefix_only(
    synthesized: Synthesized, spec: Function
) -> None:
    prefix, actions = INBOX_READS[spec.name]

    # Given every statement of the function's role that allows anything on S3
    on_s3 = [
        statement
        for statement in role_statements(synthesized, spec)
        if any(action.startswith("s3:") or action == "*" for action in as_list(statement["Action"]))
    ]

    # Then there is one: reading objects under its prefix, no listing, no other prefix
    assert len(on_s3) == 1, on_s3
    assert set(as_list(on_s3[0]["Action"])) == actions
    assert as_list(on_s3[0]["Resource"]) == [object_arn(prefix)]


@pytest.mark.parametrize("spec", ASYNC_FUNCTIONS, ids=lambda spec: spec.name)
def test_events_a_function_fails_on_are_kept_in_an_encrypted_tls_only_queue(
    synthesized: Synthesized, spec: Function
) -> None:
    function_id, _ = synthesized.function(spec)

    # Given the function's asynchronous invocation settings
    [config] = [
        resource["Properties"]
        for resource in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
        if resource["Properties"]["FunctionName"] == {"Ref": function_id}
    ]

    # Then an event that fails every retry goes to a queue of its own
    assert config["MaximumRetryAttempts"] == ASYNC_RETRY_ATTEMPTS
    queue_id, attribute = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"]
    assert attribute == "Arn"
    queue = synthesized.resources[queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"

    # And the queue is encrypted, refuses plain HTTP, and the function may send to it
    assert queue["Properties"].get("SqsManagedSseEnabled") or queue["Properties"].get(
        "KmsMasterKeyId"
    )
    assert queue_refuses_plain_http(synthesized, queue_id)
    assert any(
        "sqs:SendMessage" in as_list(statement["Action"])
        and as_list(statement["Resource"]) == [{"Fn::GetAtt": [queue_id, "Arn"]}]
        for statement in role_statements(synthesized, spec)
    )


def test_failure_queues_are_separate(synthesized: Synthesized) -> None:
    destinations = [
        flatten(config["Properties"]["DestinationConfig"])
        for config in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
    ]

    assert len(destinations) == len(ASYNC_FUNCTIONS)
    assert len(set(destinations)) == len(destinations)


def test_outputs_say_how_to_activate_the_rule_set_and_route_the_domains_mail(
    synthesized: Synthesized,
) -> None:
    outputs = synthesized.template_json["Outputs"]
    [rule_set_id] = synthesized.of_type("AWS::SES::ReceiptRuleSet")

    activate = outputs["ActivateReceiptRuleSet"]["Value"]["Fn::Join"][1]
    assert "aws ses set-active-receipt-rule-set --rule-set-name " in activate
    assert {"Ref": rule_set_id} in activate
    mx_record = flatten(outputs["MailDomainMxRecord"]["Value"])
    assert (
        mx_record == f"{DEPLOY_CONTEXT['mailDomain']} MX 10 inbound-smtp.AWS::Region.amazonaws.com"
    )


def invoke_permission(synthesized: Synthesized, spec: Function, principal: str) -> dict[str, Any]:
    function_id, _ = synthesized.function(spec)
    [permission] = [
        resource["Properties"]
        for resource in synthesized.of_type("AWS::Lambda::Permission").values()
        if resource["Properties"]["Principal"] == principal
        and resource["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permission["Action"] == "lambda:InvokeFunction"
    properties: dict[str, Any] = permission
    return properties


def role_statements(synthesized: Synthesized, spec: Function) -> Iterator[dict[str, Any]]:
    """Every Allow statement of every policy attached to the role the function runs as."""
    role_id = synthesized.function(spec)[1]["Role"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    documents = [inline["PolicyDocument"] for inline in role.get("Policies", [])]
    documents += [
        policy["Properties"]["PolicyDocument"]
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
    ]
    for document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                yield statement


def object_arn(prefix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [INBOX_ARN, f"/{prefix}*"]]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
