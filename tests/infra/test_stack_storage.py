"""The tables and the inbox bucket in the synthesized template match the resource manifest."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.manifest import IDEMPOTENCY, INBOX, TABLES, Key, Table
from tests.infra.stack_synth import Synthesized

pytestmark = pytest.mark.infra

DURABLE_TABLES = [table for table in TABLES if table is not IDEMPOTENCY]


def key_schema(partition: Key, sort: Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def table_resource(synthesized: Synthesized, spec: Table) -> dict[str, Any]:
    resource = synthesized.resources[spec.logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    return resource


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.logical_id)
def test_table_has_the_keys_and_indexes_of_the_manifest(
    synthesized: Synthesized, spec: Table
) -> None:
    # Given the manifest entry; When the template is synthesized
    properties = table_resource(synthesized, spec)["Properties"]

    # Then keys, attribute types and every index (projecting all attributes) match it
    assert properties["KeySchema"] == key_schema(spec.partition, spec.sort)
    attributes = {
        a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]
    }
    assert attributes == {key.name: key.type for key in spec.attribute_definitions()}
    indexes = {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.indexes}
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"] == key_schema(index.partition, index.sort)
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.logical_id)
def test_table_is_on_demand_encrypted_and_recoverable(
    synthesized: Synthesized, spec: Table
) -> None:
    properties = table_resource(synthesized, spec)["Properties"]

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.logical_id)
def test_table_expires_items_only_where_the_manifest_says(
    synthesized: Synthesized, spec: Table
) -> None:
    properties = table_resource(synthesized, spec)["Properties"]

    if spec.ttl_attribute is None:
        assert "TimeToLiveSpecification" not in properties
    else:
        assert properties["TimeToLiveSpecification"] == {
            "AttributeName": spec.ttl_attribute,
            "Enabled": True,
        }


@pytest.mark.parametrize("spec", DURABLE_TABLES, ids=lambda spec: spec.logical_id)
def test_ledger_and_audit_survive_stack_deletion(synthesized: Synthesized, spec: Table) -> None:
    resource = table_resource(synthesized, spec)

    assert resource["Properties"]["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_idempotency_table_is_disposable(synthesized: Synthesized) -> None:
    # Its records expire by TTL anyway; protecting it would only make `cdk destroy` fail.
    resource = table_resource(synthesized, IDEMPOTENCY)

    assert resource["DeletionPolicy"] == "Delete"
    assert resource["Properties"].get("DeletionProtectionEnabled", False) is False


def test_inbox_bucket_is_private_encrypted_and_versioned(synthesized: Synthesized) -> None:
    bucket = synthesized.resources[INBOX.logical_id]

    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "DestinationBucketName" in properties["LoggingConfiguration"]


def test_inbox_bucket_expires_raw_mail_and_old_versions(synthesized: Synthesized) -> None:
    rules = synthesized.resources[INBOX.logical_id]["Properties"]["LifecycleConfiguration"]["Rules"]

    raw_mail = [rule for rule in rules if rule.get("Prefix") == INBOX.mail_prefix]
    assert len(raw_mail) == 1
    assert raw_mail[0]["Status"] == "Enabled"
    assert raw_mail[0]["ExpirationInDays"] == INBOX.raw_mail_retention_days

    noncurrent = [rule for rule in rules if "NoncurrentVersionExpiration" in rule]
    assert [rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in noncurrent] == [30]
    assert "Prefix" not in noncurrent[0]


def test_every_bucket_refuses_plain_http(synthesized: Synthesized) -> None:
    # Given each bucket; Then its policy denies any request not made over TLS
    for logical_id in synthesized.of_type("AWS::S3::Bucket"):
        synthesized.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": logical_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )
