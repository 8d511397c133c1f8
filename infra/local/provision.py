"""Create the manifest's resources through boto3, as the CDK app creates them in AWS."""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from infra.manifest import (
    INBOX,
    LOCAL_NAMES,
    LOCAL_QUEUE_NAMES,
    LOCAL_STATE_MACHINE_NAMES,
    TABLES,
    Function,
    Queue,
    StateMachine,
    Table,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

FUNCTION_ROLE = "autoar-local-function"
STATE_MACHINE_ROLE = "autoar-local-state-machine"
SIGNING_SECRET = "autoar-approval-signing-key"
SIGNING_KEY_BYTES = 32
DEAD_LETTER_SUFFIX = "-dlq"
SECONDS_PER_DAY = 86_400


def provision(dynamodb: DynamoDBClient, s3: S3Client) -> dict[str, str]:
    """Create every table and the bucket under their local names; returns env var -> name."""
    for table in TABLES:
        create_table(dynamodb, table, LOCAL_NAMES[table.env_var])
    create_bucket(s3, LOCAL_NAMES[INBOX.env_var])
    return dict(LOCAL_NAMES)


def create_table(dynamodb: DynamoDBClient, table: Table, name: str) -> None:
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": key.name, "AttributeType": key.type}
            for key in table.attribute_definitions()
        ],
        "KeySchema": _key_schema(table.partition.name, table.sort.name if table.sort else None),
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(
                    index.partition.name, index.sort.name if index.sort else None
                ),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    dynamodb.create_table(**request)
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )


def create_bucket(s3: S3Client, name: str) -> None:
    region = s3.meta.region_name
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        location: Any = {"LocationConstraint": region}
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=location)


def create_queues(sqs: SQSClient, queues: Iterable[Queue]) -> dict[str, str]:
    """Create each queue behind its dead-letter queue, as the manifest sets them up; returns
    env var -> queue URL."""
    urls = {}
    for queue in queues:
        name = LOCAL_QUEUE_NAMES[queue.env_var]
        dead_letters = sqs.create_queue(
            QueueName=name + DEAD_LETTER_SUFFIX,
            Attributes={
                "MessageRetentionPeriod": str(queue.dead_letter_retention_days * SECONDS_PER_DAY)
            },
        )["QueueUrl"]
        redrive = {
            "deadLetterTargetArn": queue_arn(sqs, dead_letters),
            "maxReceiveCount": queue.max_receive_count,
        }
        urls[queue.env_var] = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                "MessageRetentionPeriod": str(queue.retention_days * SECONDS_PER_DAY),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
    return urls


def queue_arn(sqs: SQSClient, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def function_name(function: Function) -> str:
    """The physical name of a manifest function in the local runtime."""
    return "autoar-" + function.name.replace("_", "-")


def create_functions(
    lambda_client: Any,
    iam: Any,
    functions: Iterable[Function],
    environment: Mapping[str, str],
) -> dict[str, str]:
    """Create each function with placeholder code (the router runs the real handler in-process);
    returns manifest name -> ARN."""
    role = create_role(iam, FUNCTION_ROLE, "lambda.amazonaws.com")
    arns = {}
    for function in functions:
        arns[function.name] = lambda_client.create_function(
            FunctionName=function_name(function),
            Runtime="python3.12",
            Role=role,
            Handler=function.handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=function.timeout_seconds,
            Environment={"Variables": dict(environment)},
        )["FunctionArn"]
    return arns


def create_state_machine(
    stepfunctions: SFNClient, iam: Any, machine: StateMachine, function_arns: Mapping[str, str]
) -> str:
    """Create the state machine from the manifest's definition file, ARNs substituted."""
    role = create_role(iam, STATE_MACHINE_ROLE, "states.amazonaws.com")
    return stepfunctions.create_state_machine(
        name=LOCAL_STATE_MACHINE_NAMES[machine.env_var],
        definition=machine.definition(function_arns),
        roleArn=role,
    )["stateMachineArn"]


def create_signing_secret(client: SecretsManagerClient) -> str:
    """A fresh random key for signing approval links, as the CDK app generates one in AWS."""
    key = base64.b64encode(secrets.token_bytes(SIGNING_KEY_BYTES)).decode()
    return client.create_secret(Name=SIGNING_SECRET, SecretString=key)["ARN"]


def create_role(iam: Any, name: str, service: str) -> str:
    """The role a resource runs as; moto checks that it exists, not what it allows."""
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _placeholder_zip() -> bytes:
    """moto needs code to create a function; the router runs the real handler instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    return buffer.getvalue()


def _key_schema(partition: str, sort: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
    return schema
