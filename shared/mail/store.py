"""Mail in the ledger table: received messages, their once-only guards, and sent message ids.

Keys:
- a received message: `PK=ACCOUNT#<id>` (or `UNMATCHED`), `SK=MAIL#<received iso>#<ses id>`;
- its guard: `PK=MAILID#<ses id>`, `SK=MAILID`, written in the same transaction on condition
  it is new, so one message is recorded (and audited) once however often SES delivers it;
- a sent message: `PK=MSGID#<message id>`, `SK=MSGID` -> account, written by outreach when it
  sends, read here to tie a reply to its account through In-Reply-To and References.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.dynamodb import Transaction, deserialize, plain, query_all, serialize
from shared.ledger import keys
from shared.mail.models import InboundMessage, MailReceipt, MatchedBy, ReceiptStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

UNMATCHED = "UNMATCHED"
MAIL_PREFIX = "MAIL#"
_GUARD_PREFIX = "MAILID#"
_SENT_PREFIX = "MSGID#"
_NEW = "attribute_not_exists(PK)"
_BATCH_GET_LIMIT = 100


def normalized_message_id(message_id: str) -> str:
    """A Message-ID as both sides compare it: no angle brackets or spaces, lower case."""
    return message_id.strip().strip("<>").strip().lower()


def sent_message_key(message_id: str) -> dict[str, str]:
    return {"PK": _SENT_PREFIX + normalized_message_id(message_id), "SK": "MSGID"}


def guard_key(ses_message_id: str) -> dict[str, str]:
    return {"PK": _GUARD_PREFIX + ses_message_id, "SK": "MAILID"}


def inbound_key(message: InboundMessage) -> dict[str, str]:
    partition = keys.account_pk(message.account_id) if message.account_id else UNMATCHED
    received = message.received_at.astimezone(UTC).isoformat()
    return {"PK": partition, "SK": f"{MAIL_PREFIX}{received}#{message.ses_message_id}"}


class MailStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table

    def stage_sent_message(
        self,
        transaction: Transaction,
        message_id: str,
        account_id: str,
        sent_at: datetime,
        touch_id: str | None = None,
    ) -> None:
        """Remember which account a sent message belongs to, so replies to it find their way.

        Outreach calls this with the Message-ID the recipient will see; mail sent through SES
        carries the id SES assigns, `<SendEmail MessageId>@<region>.amazonses.com`.
        """
        item = {
            **sent_message_key(message_id),
            "entity": "sent_message",
            "message_id": normalized_message_id(message_id),
            "account_id": account_id,
            "sent_at": sent_at,
            "touch_id": touch_id,
        }
        transaction.put(
            self.table, item, describe=f"sent message {message_id} is new", condition=_NEW
        )

    def account_for_thread(self, message_ids: Iterable[str]) -> str | None:
        """The account of the first of `message_ids` that autoar sent, or None."""
        wanted = list(dict.fromkeys(normalized_message_id(m) for m in message_ids if m.strip()))
        found = {
            str(item["message_id"]): str(item["account_id"])
            for item in self._batch_get([sent_message_key(m) for m in wanted])
        }
        return next((found[m] for m in wanted if m in found), None)

    def receipt(self, ses_message_id: str) -> MailReceipt | None:
        """What was recorded for a message before, or None if it is new."""
        response = self._client.get_item(
            TableName=self.table, Key=serialize(guard_key(ses_message_id)), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        guard = deserialize(response["Item"])
        return MailReceipt(
            ses_message_id=ses_message_id,
            status=ReceiptStatus.ALREADY_RECORDED,
            account_id=guard.get("account_id"),
            matched_by=MatchedBy(guard["matched_by"]),
            automated=guard.get("automated", []),
            attachments=int(guard.get("attachments", 0)),
            intent=guard.get("intent"),
            acted=guard.get("acted"),
        )

    def stage_inbound(self, transaction: Transaction, message: InboundMessage) -> None:
        """Store a received message, on condition that this SES message was never recorded."""
        key = inbound_key(message)
        guard = {
            **guard_key(message.ses_message_id),
            "entity": "mail_guard",
            "account_id": message.account_id,
            "matched_by": message.matched_by,
            "automated": message.automated,
            "attachments": len(message.attachments),
            "intent": message.interpretation.intent if message.interpretation else None,
            "acted": message.acted,
            "record_pk": key["PK"],
            "record_sk": key["SK"],
        }
        transaction.put(
            self.table,
            guard,
            describe=self.guard_label(message.ses_message_id),
            condition=_NEW,
        )
        transaction.put(
            self.table,
            {**key, "entity": "inbound_mail", **plain(message)},
            describe=f"mail record {key['SK']} is new",
            condition=_NEW,
        )

    def messages(self, account_id: str | None) -> list[InboundMessage]:
        """Received messages of an account, or the unmatched ones (None), oldest first."""
        partition = keys.account_pk(account_id) if account_id else UNMATCHED
        items = query_all(
            self._client,
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :mail)",
            ExpressionAttributeValues={":pk": {"S": partition}, ":mail": {"S": MAIL_PREFIX}},
        )
        return [_message(item) for item in items]

    @staticmethod
    def guard_label(ses_message_id: str) -> str:
        return f"mail {ses_message_id} is new"

    def _batch_get(self, wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            chunk = wanted[start : start + _BATCH_GET_LIMIT]
            request: Any = {
                self.table: {"Keys": [serialize(k) for k in chunk], "ConsistentRead": True}
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(deserialize(i) for i in response["Responses"].get(self.table, []))
                request = response.get("UnprocessedKeys") or None
        return found


def _message(item: dict[str, Any]) -> InboundMessage:
    return InboundMessage.model_validate(
        {k: v for k, v in item.items() if k not in {"PK", "SK", "entity"}}
    )
