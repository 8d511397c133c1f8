"""Corrections to moto that the local runtime and the tests run with.

moto's DynamoDB transaction copies every table it touches before writing, so each transaction
costs time in proportion to the whole table: a ledger of a few thousand items spends seconds per
payment. This replacement keeps DynamoDB's semantics (every condition judged against the state
before the transaction, then all writes or none) and backs up only the items it writes.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

_MAX_ITEMS = 100
_lock = threading.RLock()
_installed = False


def install() -> None:
    """Switch moto's DynamoDB transactions to the item-level version; idempotent."""
    global _installed
    if not _installed:
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        _installed = True


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > _MAX_ITEMS:
        raise TooManyTransactionsException()
    with _lock:
        plan = _plan(self, transact_items)
        failures = [_condition_failure(op, current) for _, op, _, current in plan]
        if any(failures):
            raise TransactionCanceledException(
                [failure or (None, None, None) for failure in failures]
            )
        backups = [(op["TableName"], key, copy.deepcopy(current)) for _, op, key, current in plan]
        try:
            for op_type, op, key, _ in plan:
                _apply(self, op_type, op, key)
        except Exception:
            _restore(self, backups)
            raise


def _plan(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any], dict[str, Any], Any]]:
    plan = []
    targets: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException()
        ((op_type, op),) = entry.items()
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            key_names = [table.hash_key_attr, table.range_key_attr]
            key = {name: op["Item"][name] for name in key_names if name is not None}
        else:
            key = op["Key"]
        target = (op["TableName"], json.dumps(key, sort_keys=True))
        if target in targets:
            raise MultipleTransactionsException()
        targets.add(target)
        plan.append((op_type, op, key, backend.get_item(op["TableName"], key)))
    return plan


def _condition_failure(op: dict[str, Any], current: Any) -> tuple[str, str, None] | None:
    condition = op.get("ConditionExpression")
    if condition is None:
        return None
    expression = get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if expression.expr(current):
        return None
    return ("ConditionalCheckFailed", "The conditional request failed", None)


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names = op.get("ExpressionAttributeNames") or {}
    values = op.get("ExpressionAttributeValues") or {}
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _restore(backend: DynamoDBBackend, backups: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, item in backups:
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item.to_json()["Attributes"])
