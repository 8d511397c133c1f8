"""What the collections loop keeps in the ledger table beside the ledger itself.

- the review index, read by the sweep: accounts whose next review is due, with the time it was
  due at (from the sharded `by-next-review` index the ledger maintains);
- the account's notes: `PK=ACCOUNT#<id>`, `SK=COLLECTIONS`, holding when a person was last put
  onto the account (so an escalation is not repeated every review) and the email a decision
  queued but has not yet settled (so a redelivered message finishes it instead of deciding
  again);
- the decision's own write to the account profile: the next review, on condition that the
  account is still as the decision read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from shared.dynamodb import Transaction, commit, deserialize, query_all, serialize
from shared.ledger import keys
from shared.ledger.models import Account

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOTES = "COLLECTIONS"
REVIEW_INDEX = "by-next-review"


class AccountNotes(BaseModel):
    """The loop's notes on one account; an account never decided on has empty notes."""

    model_config = ConfigDict(frozen=True)

    escalated_at: datetime | None = None
    escalation_rule: str | None = None
    pending_email: str | None = None
    """The decision id of an email queued and not yet sent, withdrawn or given up on."""


@dataclass(frozen=True)
class DueReview:
    account_id: str
    review_at: datetime


class CollectionsStore:
    def __init__(self, client: DynamoDBClient, table: str, review_shards: int) -> None:
        self._client = client
        self.table = table
        self.review_shards = review_shards

    def due(self, shard: int, until: datetime) -> Iterator[DueReview]:
        """Accounts of one review shard whose next review is at or before `until`, oldest first."""
        items = query_all(
            self._client,
            TableName=self.table,
            IndexName=REVIEW_INDEX,
            KeyConditionExpression="review_shard = :shard AND next_review_key <= :until",
            ExpressionAttributeValues={
                ":shard": {"S": f"REVIEW#{shard:03d}"},
                ":until": {"S": keys.next_review_key(until, "\uffff")},
            },
            ProjectionExpression="account_id, next_review_key",
        )
        for item in items:
            review_at, _, _ = str(item["next_review_key"]).partition("#")
            yield DueReview(str(item["account_id"]), datetime.fromisoformat(review_at))

    def notes(self, account_id: str) -> AccountNotes:
        response = self._client.get_item(
            TableName=self.table, Key=serialize(_notes_key(account_id)), ConsistentRead=True
        )
        item = deserialize(response["Item"]) if "Item" in response else {}
        return AccountNotes.model_validate(
            {name: item.get(name) for name in AccountNotes.model_fields}
        )

    def stage_reviewed(
        self, transaction: Transaction, account: Account, next_review_at: datetime
    ) -> None:
        """Set the next review, on condition the account is as read: its profile at the same
        version, and no change since that put it up for review (every ledger change that should
        make the agent look again moves the review, so an unmoved review means none came)."""
        shard = keys.review_shard(account.account_id, self.review_shards)
        review_key = keys.next_review_key(next_review_at, account.account_id)
        condition = "version = :version AND "
        expected: dict[str, Any] = {"version": account.version}
        if account.next_review_at is None:
            condition += "attribute_not_exists(next_review_key)"
        else:
            condition += "next_review_key = :seen"
            expected["seen"] = keys.next_review_key(account.next_review_at, account.account_id)
        transaction.update(
            self.table,
            keys.profile_key(account.account_id),
            "SET next_review_at = :at, review_shard = :shard, next_review_key = :review_key",
            describe=self.unchanged_label(account.account_id),
            condition=condition,
            at=next_review_at.astimezone(UTC),
            shard=shard,
            review_key=review_key,
            **expected,
        )

    def stage_escalated(
        self, transaction: Transaction, account_id: str, at: datetime, rule: str
    ) -> None:
        transaction.update(
            self.table,
            _notes_key(account_id),
            "SET entity = :entity, account_id = :account, escalated_at = :at, "
            "escalation_rule = :rule",
            describe=f"notes of account {account_id}",
            entity="collections_notes",
            account=account_id,
            at=at.astimezone(UTC),
            rule=rule,
        )

    def stage_pending_email(
        self, transaction: Transaction, account_id: str, decision_id: str
    ) -> None:
        """Note the email a decision queued; refused while another is still unsettled."""
        transaction.update(
            self.table,
            _notes_key(account_id),
            "SET entity = :entity, account_id = :account, pending_email = :decision",
            describe=f"account {account_id} has no email waiting to be sent",
            condition="attribute_not_exists(pending_email)",
            entity="collections_notes",
            account=account_id,
            decision=decision_id,
        )

    def stage_email_settled(
        self, transaction: Transaction, account_id: str, decision_id: str
    ) -> None:
        transaction.update(
            self.table,
            _notes_key(account_id),
            "REMOVE pending_email",
            describe=f"account {account_id} is waiting on email {decision_id}",
            condition="pending_email = :decision",
            decision=decision_id,
        )

    def commit(self, transaction: Transaction) -> None:
        commit(self._client, transaction)

    @staticmethod
    def unchanged_label(account_id: str) -> str:
        return f"account {account_id} is unchanged since it was read"


def review_at_key(account: Account) -> str:
    """The review slot a decision serves: the review time the account was due at, or none."""
    if account.next_review_at is None:
        return "none"
    return account.next_review_at.astimezone(UTC).isoformat()


def _notes_key(account_id: str) -> dict[str, str]:
    return keys.key(account_id, NOTES)
