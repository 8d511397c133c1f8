"""Create the manifest's resources through boto3, as the CDK app creates them in AWS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.manifest import INBOX, LOCAL_NAMES, TABLES, Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


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


def _key_schema(partition: str, sort: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
    return schema
