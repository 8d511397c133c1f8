"""Bank files in the ledger table, partitioned by content so a duplicate cannot be stored twice.

Keys: the content `PK=BANKFILE#<sha256>`, `SK=FILE`; each upload of it beside it,
`SK=UPLOAD#<object key>[#version=<version id>]`. Both are written on condition they are new:
the first upload of a content writes both, a later upload of the same content only its own
upload item, and the same upload seen again writes nothing.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from shared.cash.models import BankFile, Upload
from shared.dynamodb import Transaction, deserialize, plain, query_all, serialize

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FILE = "FILE"
UPLOAD_PREFIX = "UPLOAD#"
_PARTITION_PREFIX = "BANKFILE#"
_NEW = "attribute_not_exists(PK)"
_MAX_SORT_KEY_BYTES = 1024


def file_key(sha256: str) -> dict[str, str]:
    return {"PK": _PARTITION_PREFIX + sha256, "SK": FILE}


def upload_key(sha256: str, key: str, version_id: str | None) -> dict[str, str]:
    """An upload is an object key and, in a versioned bucket, its version.

    An object key too long to fit in a sort key is replaced by its hash.
    """
    where = key if version_id is None else f"{key}#version={version_id}"
    sort_key = UPLOAD_PREFIX + where
    if len(sort_key.encode()) > _MAX_SORT_KEY_BYTES:
        sort_key = UPLOAD_PREFIX + "sha256:" + hashlib.sha256(where.encode()).hexdigest()
    return {"PK": _PARTITION_PREFIX + sha256, "SK": sort_key}


class BankFileStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table

    def bank_file(self, sha256: str) -> BankFile | None:
        response = self._client.get_item(
            TableName=self.table, Key=serialize(file_key(sha256)), ConsistentRead=True
        )
        item = response.get("Item")
        return BankFile.model_validate(_fields(deserialize(item))) if item else None

    def uploads(self, sha256: str) -> list[Upload]:
        items = query_all(
            self._client,
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :upload)",
            ExpressionAttributeValues={
                ":pk": {"S": _PARTITION_PREFIX + sha256},
                ":upload": {"S": UPLOAD_PREFIX},
            },
        )
        return [Upload.model_validate(_fields(item)) for item in items]

    def stage_new_file(self, transaction: Transaction, bank_file: BankFile) -> None:
        item = {**file_key(bank_file.sha256), "entity": "bank_file", **plain(bank_file)}
        transaction.put(
            self.table, item, describe=self.file_label(bank_file.sha256), condition=_NEW
        )

    def stage_upload(self, transaction: Transaction, upload: Upload) -> None:
        key = upload_key(upload.sha256, upload.key, upload.version_id)
        item = {**key, "entity": "bank_file_upload", **plain(upload)}
        transaction.put(self.table, item, describe=self.upload_label(upload), condition=_NEW)

    @staticmethod
    def file_label(sha256: str) -> str:
        return f"bank file {sha256} is new"

    @staticmethod
    def upload_label(upload: Upload) -> str:
        version = f" version {upload.version_id}" if upload.version_id else ""
        return f"upload of {upload.sha256} at {upload.key}{version} is new"


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK", "entity"}}
