"""Thin DynamoDB plumbing: item conversion, transactions, and turning refusals into typed errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from shared.errors import Conflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MAX_TRANSACTION_ITEMS = 100

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def plain(value: Any) -> Any:
    """Python values DynamoDB can store: dates as ISO strings, enums as values, no floats."""
    if isinstance(value, BaseModel):
        return plain(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        raise TypeError("floats are never stored; use Decimal")
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in plain(item).items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def values(**named: Any) -> dict[str, Any]:
    """Expression attribute values from keyword arguments: values(v=1) -> {":v": {"N": "1"}}."""
    return {f":{name}": _serializer.serialize(plain(value)) for name, value in named.items()}


class Transaction:
    """The writes of one all-or-nothing step, each with the condition that keeps it honest.

    `describe` labels each write so a refusal can say which record lost the race.
    """

    def __init__(self) -> None:
        self.items: list[TransactWriteItemTypeDef] = []
        self.labels: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    def put(
        self,
        table: str,
        item: Mapping[str, Any],
        *,
        describe: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        **condition_values: Any,
    ) -> None:
        put: dict[str, Any] = {"TableName": table, "Item": serialize(item)}
        self._add({"Put": put}, describe, condition, names, condition_values)

    def update(
        self,
        table: str,
        key: Mapping[str, Any],
        expression: str,
        *,
        describe: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        **expression_values: Any,
    ) -> None:
        update: dict[str, Any] = {
            "TableName": table,
            "Key": serialize(key),
            "UpdateExpression": expression,
        }
        self._add({"Update": update}, describe, condition, names, expression_values)

    def check(
        self,
        table: str,
        key: Mapping[str, Any],
        condition: str,
        *,
        describe: str,
        names: dict[str, str] | None = None,
        **condition_values: Any,
    ) -> None:
        check: dict[str, Any] = {"TableName": table, "Key": serialize(key)}
        self._add({"ConditionCheck": check}, describe, condition, names, condition_values)

    def delete(
        self,
        table: str,
        key: Mapping[str, Any],
        *,
        describe: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        **condition_values: Any,
    ) -> None:
        delete: dict[str, Any] = {"TableName": table, "Key": serialize(key)}
        self._add({"Delete": delete}, describe, condition, names, condition_values)

    def extend(self, other: Transaction) -> None:
        self.items.extend(other.items)
        self.labels.extend(other.labels)

    def _add(
        self,
        wrapped: dict[str, Any],
        describe: str,
        condition: str | None,
        names: dict[str, str] | None,
        expression_values: dict[str, Any],
    ) -> None:
        (operation,) = wrapped.values()
        if condition:
            operation["ConditionExpression"] = condition
        if names:
            operation["ExpressionAttributeNames"] = names
        if expression_values:
            operation["ExpressionAttributeValues"] = values(**expression_values)
        self.items.append(wrapped)  # type: ignore[arg-type]
        self.labels.append(describe)


class TransactionRefused(Conflict):
    """DynamoDB cancelled a transaction; `failed` names the writes whose conditions failed."""

    def __init__(self, failed: list[str], codes: list[str]) -> None:
        detail = ", ".join(failed) if failed else "a write was refused (" + ", ".join(codes) + ")"
        super().__init__(f"not written, nothing changed: {detail}")
        self.failed = failed
        self.codes = codes


def commit(client: DynamoDBClient, transaction: Transaction) -> None:
    """Write every item of the transaction or none of them."""
    if not transaction.items:
        return
    if len(transaction) > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_ITEMS} writes")
    try:
        client.transact_write_items(TransactItems=transaction.items)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons", [])
        codes = [reason.get("Code", "None") for reason in reasons]
        failed = [
            label
            for label, code in zip(transaction.labels, codes, strict=False)
            if code == "ConditionalCheckFailed"
        ]
        raise TransactionRefused(failed, codes) from error


def query_all(client: DynamoDBClient, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a query matches, across pages, deserialized."""
    paginator = client.get_paginator("query")
    for page in paginator.paginate(**kwargs):
        for item in page.get("Items", []):
            yield deserialize(item)


def scan_all(client: DynamoDBClient, **kwargs: Any) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator("scan")
    for page in paginator.paginate(**kwargs):
        for item in page.get("Items", []):
            yield deserialize(item)
