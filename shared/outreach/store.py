"""Outbox records in the ledger table: `PK=OUTBOX#<decision id>`, `SK=OUTBOX`.

A record is created on condition that it is new, in the same transaction as the decision's touch
and audit event; every later change replaces it on condition that it is still at the version it
was read at, so two attempts can never both hand the same email to SES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.dynamodb import Transaction, commit, deserialize, plain, serialize
from shared.errors import NotFound
from shared.outreach.models import OutboxEmail

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PREFIX = "OUTBOX#"
RECORD = "OUTBOX"
_STORAGE_ATTRIBUTES = frozenset({"PK", "SK", "entity"})


def outbox_key(decision_id: str) -> dict[str, str]:
    return {"PK": PREFIX + decision_id, "SK": RECORD}


class OutboxStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table

    def get(self, decision_id: str) -> OutboxEmail:
        response = self._client.get_item(
            TableName=self.table, Key=serialize(outbox_key(decision_id)), ConsistentRead=True
        )
        if "Item" not in response:
            raise NotFound("outbox email", decision_id)
        item: dict[str, Any] = deserialize(response["Item"])
        return OutboxEmail.model_validate(
            {key: value for key, value in item.items() if key not in _STORAGE_ATTRIBUTES}
        )

    def stage_new(self, transaction: Transaction, email: OutboxEmail) -> None:
        transaction.put(
            self.table,
            {**outbox_key(email.decision_id), "entity": "outbox_email", **plain(email)},
            describe=self.new_label(email.decision_id),
            condition="attribute_not_exists(PK)",
        )

    def stage_change(
        self, transaction: Transaction, changed: OutboxEmail, expected_version: int
    ) -> None:
        transaction.put(
            self.table,
            {**outbox_key(changed.decision_id), "entity": "outbox_email", **plain(changed)},
            describe=f"email {changed.decision_id} is still at version {expected_version}",
            condition="version = :expected",
            expected=expected_version,
        )

    def commit(self, transaction: Transaction) -> None:
        commit(self._client, transaction)

    @staticmethod
    def new_label(decision_id: str) -> str:
        return f"email {decision_id} is new"
