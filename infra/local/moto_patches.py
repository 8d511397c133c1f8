"""Corrections to moto that the local runtime and the tests run with.

moto's DynamoDB transaction copies every table it touches before writing, so each transaction
costs time in proportion to the whole table: a ledger of a few thousand items spends seconds per
payment. This replacement keeps DynamoDB's semantics (every condition judged against the state
before the transaction, then all writes or none) and backs up only the items it writes.

moto's query starts from every item of the table, sorted by key with two DynamoType comparisons
per step of the sort, and then keeps those of the partition asked for; on a ledger of a few
thousand items that is most of the time the collections loop spends. The replacements sort with
each key computed once, and let a table query start from its own partition: the same items in
the same order as moto's own.
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
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

_MAX_ITEMS = 100
_lock = threading.RLock()
_installed = False


def install() -> None:
    """Switch moto's DynamoDB transactions to the item-level version; idempotent."""
    global _installed
    if not _installed:
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        Table.all_items = _all_items  # type: ignore[method-assign]
        Table.query = _partition_query(Table.query)  # type: ignore[method-assign]
        _installed = True


_query_scope = threading.local()


def _partition_query(query: Any) -> Any:
    """A table (not index) query whose candidates are its partition's items, not the table's:
    moto keeps exactly those of all items anyway."""

    def scoped(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _query_scope.partition = hash_key if index_name is None else None
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.partition = None

    return scoped


def _all_items(self: Table) -> list[Item]:
    """Every item of the table (or of the partition a table query reads) in key order, as
    moto's own, each sort key computed once.

    A table's key attributes have one type each, so comparing their cast values orders the
    items exactly as comparing the DynamoType keys does.
    """
    partition = getattr(_query_scope, "partition", None)
    if partition is not None and self.range_key_attr:
        return sorted(self.items.get(partition, {}).values(), key=_key_order)
    items: list[Item] = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)  # type: ignore[arg-type]
    return sorted(items, key=_key_order)


def _key_order(item: Item) -> Any:
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


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
