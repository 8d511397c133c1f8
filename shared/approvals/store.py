"""Approvals in the ledger table: the record, the list of pending ones, the task token, and the
markers that keep each approver from being emailed twice for the same step.

- the record: `PK=APPROVAL#<id>`, `SK=APPROVAL`; every change replaces it on condition that it
  is still at the version it was read at, so two deciders (or a decider and a lapsing deadline)
  can never both win;
- its listing while it waits for a decision: `PK=APPROVALS#pending`, `SK=<requested at>#<id>`,
  naming the account and the kind of action, removed in the same transaction that decides or
  closes it; approvals wait for people, so there are few at a time and one partition serves
  them, and the decide loop learns what waits on an account from the listing alone;
- the task token: `PK=APPROVAL#<id>`, `SK=TOKEN`, with the step it belongs to; read only to
  send the decision to Step Functions, never part of the record or any model a page shows;
- an ask marker per step: `PK=APPROVAL#<id>`, `SK=ASKED#<step>`, written before the email is
  sent, on condition that it does not exist yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.actions.models import ActionKind
from shared.approvals.errors import ApprovalNotFound
from shared.approvals.models import ApprovalRequest
from shared.dynamodb import Transaction, commit, deserialize, plain, query_all, serialize

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

APPROVAL_PREFIX = "APPROVAL#"
RECORD = "APPROVAL"
TOKEN = "TOKEN"
ASKED_PREFIX = "ASKED#"
PENDING = "APPROVALS#pending"

_STORAGE_ATTRIBUTES = frozenset({"PK", "SK", "entity"})
_BATCH_GET_LIMIT = 100
_NEW = "attribute_not_exists(PK)"


@dataclass(frozen=True)
class Waiting:
    """A pending approval as its listing names it."""

    approval_id: str
    kind: ActionKind
    requested_at: datetime


def record_key(approval_id: str) -> dict[str, str]:
    return {"PK": APPROVAL_PREFIX + approval_id, "SK": RECORD}


def token_key(approval_id: str) -> dict[str, str]:
    return {"PK": APPROVAL_PREFIX + approval_id, "SK": TOKEN}


def asked_key(approval_id: str, step: int) -> dict[str, str]:
    return {"PK": APPROVAL_PREFIX + approval_id, "SK": f"{ASKED_PREFIX}{step:03d}"}


def listing_key(approval: ApprovalRequest) -> dict[str, str]:
    requested = approval.requested_at.astimezone(UTC).isoformat()
    return {"PK": PENDING, "SK": f"{requested}#{approval.approval_id}"}


class ApprovalStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table

    # Reads

    def get(self, approval_id: str) -> ApprovalRequest:
        approval = self.find(approval_id)
        if approval is None:
            raise ApprovalNotFound(approval_id)
        return approval

    def find(self, approval_id: str) -> ApprovalRequest | None:
        item = self._get(record_key(approval_id))
        return _approval(item) if item else None

    def pending(self) -> list[ApprovalRequest]:
        """Every approval waiting for a decision, oldest request first."""
        listed = query_all(
            self._client,
            TableName=self.table,
            KeyConditionExpression="PK = :pending",
            ExpressionAttributeValues={":pending": {"S": PENDING}},
        )
        ids = [str(item["approval_id"]) for item in listed]
        found = {a.approval_id: a for a in self._batch_get(record_key(i) for i in ids)}
        return [found[i] for i in ids if i in found]

    def waiting_on(self, account_id: str) -> list[Waiting]:
        """What waits for a decision on one account, from the pending list alone."""
        listed = query_all(
            self._client,
            TableName=self.table,
            KeyConditionExpression="PK = :pending",
            FilterExpression="account_id = :account",
            ExpressionAttributeValues={":pending": {"S": PENDING}, ":account": {"S": account_id}},
        )
        return [
            Waiting(
                approval_id=str(item["approval_id"]),
                kind=ActionKind(str(item["kind"])),
                requested_at=datetime.fromisoformat(str(item["SK"]).rpartition("#")[0]),
            )
            for item in listed
        ]

    def task_token(self, approval_id: str, step: int) -> str | None:
        """The token Step Functions waits on for this step, or None if none is stored for it."""
        item = self._get(token_key(approval_id))
        if item is None or int(item["step"]) != step:
            return None
        return str(item["task_token"])

    # Staged writes

    def stage_new(self, transaction: Transaction, approval: ApprovalRequest) -> None:
        transaction.put(
            self.table,
            {**record_key(approval.approval_id), "entity": "approval", **plain(approval)},
            describe=f"approval {approval.approval_id} is new",
            condition=_NEW,
        )
        transaction.put(
            self.table,
            {
                **listing_key(approval),
                "approval_id": approval.approval_id,
                "account_id": approval.account_id,
                "kind": approval.action.kind.value,
            },
            describe=f"approval {approval.approval_id} is listed as pending",
        )

    def stage_change(
        self, transaction: Transaction, changed: ApprovalRequest, expected_version: int
    ) -> None:
        """Replace the record, only if nobody changed it since `expected_version`."""
        transaction.put(
            self.table,
            {**record_key(changed.approval_id), "entity": "approval", **plain(changed)},
            describe=f"approval {changed.approval_id} is still at version {expected_version}",
            condition="version = :expected",
            expected=expected_version,
        )

    def stage_unchanged(self, transaction: Transaction, approval: ApprovalRequest) -> None:
        transaction.check(
            self.table,
            record_key(approval.approval_id),
            "version = :expected",
            describe=f"approval {approval.approval_id} is still at version {approval.version}",
            expected=approval.version,
        )

    def stage_unlisted(self, transaction: Transaction, approval: ApprovalRequest) -> None:
        transaction.delete(
            self.table,
            listing_key(approval),
            describe=f"approval {approval.approval_id} leaves the pending list",
        )

    def stage_token(
        self, transaction: Transaction, approval_id: str, step: int, task_token: str
    ) -> None:
        transaction.put(
            self.table,
            {**token_key(approval_id), "step": step, "task_token": task_token},
            describe=f"task token of approval {approval_id}",
        )

    def stage_token_removed(self, transaction: Transaction, approval_id: str) -> None:
        transaction.delete(
            self.table, token_key(approval_id), describe=f"task token of approval {approval_id}"
        )

    def stage_asked(
        self,
        transaction: Transaction,
        approval: ApprovalRequest,
        message_id: str,
        at: datetime,
    ) -> None:
        """Claim the email of the current step; refused if this step's email was claimed."""
        transaction.put(
            self.table,
            {
                **asked_key(approval.approval_id, approval.step),
                "approver": approval.current_approver,
                "message_id": message_id,
                "at": at,
            },
            describe=f"approval {approval.approval_id} step {approval.step} is not yet asked",
            condition=_NEW,
        )

    def stage_ask_withdrawn(self, transaction: Transaction, approval: ApprovalRequest) -> None:
        transaction.delete(
            self.table,
            asked_key(approval.approval_id, approval.step),
            describe=f"ask marker of approval {approval.approval_id} step {approval.step}",
        )

    def commit(self, transaction: Transaction) -> None:
        commit(self._client, transaction)

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table, Key=serialize(key), ConsistentRead=True
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def _batch_get(self, keys: Iterable[dict[str, str]]) -> list[ApprovalRequest]:
        wanted = list(keys)
        found: list[ApprovalRequest] = []
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            request: Any = {
                self.table: {
                    "Keys": [serialize(k) for k in wanted[start : start + _BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                items = response["Responses"].get(self.table, [])
                found.extend(_approval(deserialize(item)) for item in items)
                request = response.get("UnprocessedKeys") or None
        return found


def _approval(item: dict[str, Any]) -> ApprovalRequest:
    return ApprovalRequest.model_validate(
        {key: value for key, value in item.items() if key not in _STORAGE_ATTRIBUTES}
    )
