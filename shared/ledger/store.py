"""The ledger table: reading records, and staging their writes into transactions.

Writes are staged, not made, so that every change commits together with its audit event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from shared.dynamodb import Transaction, deserialize, plain, query_all, serialize
from shared.errors import NotFound
from shared.ledger import keys
from shared.ledger.models import (
    Account,
    AccountProfile,
    Allocation,
    Case,
    CreditNote,
    Invoice,
    Payment,
    Touch,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RecordT = TypeVar("RecordT", bound=BaseModel)

_STORAGE_ATTRIBUTES = frozenset(
    {
        "PK",
        "SK",
        "entity",
        "review_shard",
        "next_review_key",
        "invoice_number_key",
        "unapplied_key",
        "received_key",
    }
)
_BATCH_GET_LIMIT = 100
_NEW = "attribute_not_exists(PK)"


@dataclass
class AccountRecords:
    """Everything stored under one account, grouped by kind."""

    account: Account
    invoices: list[Invoice] = field(default_factory=list)
    credit_notes: list[CreditNote] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)


class LedgerStore:
    def __init__(self, client: DynamoDBClient, table: str, review_shards: int) -> None:
        self._client = client
        self.table = table
        self._review_shards = review_shards

    # Reads

    def account(self, account_id: str) -> Account:
        item = self._get(keys.profile_key(account_id))
        if item is None:
            raise NotFound("account", account_id)
        return _record(Account, item)

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        """The accounts among account_ids that exist, by id."""
        items = self._batch_get([keys.profile_key(account_id) for account_id in set(account_ids)])
        return {account.account_id: account for account in (_record(Account, i) for i in items)}

    def invoice(self, account_id: str, number: str) -> Invoice:
        item = self._get(keys.invoice_key(account_id, number))
        if item is None:
            raise NotFound("invoice", f"{number} of account {account_id}")
        return _record(Invoice, item)

    def case(self, account_id: str, case_id: str) -> Case:
        item = self._get(keys.key(account_id, keys.CASE_PREFIX + case_id))
        if item is None:
            raise NotFound("case", f"{case_id} of account {account_id}")
        return _record(Case, item)

    def existing_invoices(self, wanted: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (account id, invoice number) pairs are already stored."""
        found = self._batch_get([keys.invoice_key(account, number) for account, number in wanted])
        return {(str(item["account_id"]), str(item["number"])) for item in found}

    def records(self, account_id: str) -> AccountRecords:
        items = list(
            query_all(
                self._client,
                TableName=self.table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.account_pk(account_id)}},
            )
        )
        profile = next((item for item in items if item["SK"] == keys.PROFILE), None)
        if profile is None:
            raise NotFound("account", account_id)
        records = AccountRecords(account=_record(Account, profile))
        for item in items:
            _file(records, item)
        return records

    def accounts_by_email(self, email: str) -> list[str]:
        """Ids of the accounts that list this address among their contacts."""
        items = query_all(
            self._client,
            TableName=self.table,
            KeyConditionExpression="PK = :email",
            ExpressionAttributeValues={":email": {"S": "EMAIL#" + email.lower()}},
        )
        return [str(item["account_id"]) for item in items]

    def invoices_by_reference(self, reference: str) -> list[Invoice]:
        """Invoices whose number matches a remittance reference, across all accounts."""
        items = query_all(
            self._client,
            TableName=self.table,
            IndexName="by-invoice-number",
            KeyConditionExpression="invoice_number_key = :number",
            ExpressionAttributeValues={":number": {"S": keys.invoice_number_key(reference)}},
        )
        return [_record(Invoice, item) for item in items]

    def due_for_review(self, shard: int, until: datetime) -> list[str]:
        """Ids of the accounts in one review shard whose next review is at or before `until`."""
        items = query_all(
            self._client,
            TableName=self.table,
            IndexName="by-next-review",
            KeyConditionExpression="review_shard = :shard AND next_review_key <= :until",
            ExpressionAttributeValues={
                ":shard": {"S": f"REVIEW#{shard:03d}"},
                ":until": {"S": keys.next_review_key(until, "\uffff")},
            },
            ProjectionExpression="account_id",
        )
        return [str(item["account_id"]) for item in items]

    # Staged writes

    def stage_new_account(self, transaction: Transaction, account: Account) -> None:
        item = {**keys.profile_key(account.account_id), "entity": "account", **plain(account)}
        item.update(self._review_attributes(account.account_id, account.next_review_at))
        transaction.put(
            self.table, item, describe=f"account {account.account_id} is new", condition=_NEW
        )

    def stage_contact_emails(
        self, transaction: Transaction, account_id: str, before: set[str], after: set[str]
    ) -> None:
        """Keep the address-to-account lookup in step with the account's contacts."""
        for email in sorted(after - before):
            transaction.put(
                self.table,
                {**keys.contact_email_key(email, account_id), "account_id": account_id},
                describe=f"contact address of account {account_id}",
            )
        for email in sorted(before - after):
            transaction.delete(
                self.table,
                keys.contact_email_key(email, account_id),
                describe=f"former contact address of account {account_id}",
            )

    def stage_profile(
        self,
        transaction: Transaction,
        account_id: str,
        profile: AccountProfile,
        version: int,
        updated_at: datetime,
    ) -> None:
        """Replace the profile fields, only if nobody changed the account since `version`."""
        fields = {**plain(profile), "updated_at": plain(updated_at)}
        names = {f"#{name}": name for name in fields}
        assignments = ", ".join(f"#{name} = :{name}" for name in fields)
        transaction.update(
            self.table,
            keys.profile_key(account_id),
            f"SET {assignments}, version = version + :one",
            describe=f"account {account_id} is still at version {version}",
            condition="version = :expected",
            names=names,
            one=1,
            expected=version,
            **fields,
        )

    def stage_review(self, transaction: Transaction, account_id: str, when: datetime) -> None:
        """Put the account in front of the sweep at `when`; the account must exist."""
        review = self._review_attributes(account_id, when)
        transaction.update(
            self.table,
            keys.profile_key(account_id),
            "SET next_review_at = :at, review_shard = :shard, next_review_key = :review_key",
            describe=f"account {account_id} exists",
            condition="attribute_exists(PK)",
            at=when,
            shard=review["review_shard"],
            review_key=review["next_review_key"],
        )

    def stage_new_invoice(self, transaction: Transaction, invoice: Invoice) -> None:
        item = {
            **keys.invoice_key(invoice.account_id, invoice.number),
            "entity": "invoice",
            "invoice_number_key": keys.invoice_number_key(invoice.number),
            **plain(invoice),
        }
        transaction.put(
            self.table,
            item,
            describe=f"invoice {invoice.number} of account {invoice.account_id} is new",
            condition=_NEW,
        )

    def stage_invoice(
        self, transaction: Transaction, invoice: Invoice, expected_version: int
    ) -> None:
        """Store a changed invoice, only if it is still at the version the change was made on."""
        item = {
            **keys.invoice_key(invoice.account_id, invoice.number),
            "entity": "invoice",
            "invoice_number_key": keys.invoice_number_key(invoice.number),
            **plain(invoice),
        }
        transaction.put(
            self.table,
            item,
            describe=f"invoice {invoice.number} is unchanged since version {expected_version}",
            condition="version = :expected",
            expected=expected_version,
        )

    def stage_case(self, transaction: Transaction, case: Case, expected_version: int) -> None:
        """Store a changed case, only if it is still at the version the change was made on."""
        sort_key, entity = _sort_key(case)
        transaction.put(
            self.table,
            {**keys.key(case.account_id, sort_key), "entity": entity, **plain(case)},
            describe=f"case {case.case_id} is unchanged since version {expected_version}",
            condition="version = :expected",
            expected=expected_version,
        )

    def stage_new_record(
        self, transaction: Transaction, record: CreditNote | Payment | Allocation | Case | Touch
    ) -> None:
        sort_key, entity = _sort_key(record)
        item: dict[str, Any] = {
            **keys.key(record.account_id, sort_key),
            "entity": entity,
            **plain(record),
        }
        if isinstance(record, Payment) and record.unapplied_amount > 0:
            item["unapplied_key"] = keys.UNAPPLIED
            item["received_key"] = f"{record.received_on.isoformat()}#{record.payment_id}"
        transaction.put(self.table, item, describe=new_record_label(record), condition=_NEW)

    def _review_attributes(self, account_id: str, when: datetime | None) -> dict[str, str]:
        if when is None:
            return {}
        return {
            "review_shard": keys.review_shard(account_id, self._review_shards),
            "next_review_key": keys.next_review_key(when, account_id),
        }

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table, Key=serialize(key), ConsistentRead=True
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def _batch_get(self, wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            request: Any = {
                self.table: {
                    "Keys": [serialize(k) for k in wanted[start : start + _BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(deserialize(i) for i in response["Responses"].get(self.table, []))
                request = response.get("UnprocessedKeys") or None
        return found


def new_record_label(record: CreditNote | Payment | Allocation | Case | Touch) -> str:
    """How a refused write of a new record is named in `TransactionRefused.failed`."""
    sort_key, entity = _sort_key(record)
    return f"{entity} {sort_key} is new"


def _record(model: type[RecordT], item: dict[str, Any]) -> RecordT:
    return model.model_validate({k: v for k, v in item.items() if k not in _STORAGE_ATTRIBUTES})


def _sort_key(record: CreditNote | Payment | Allocation | Case | Touch) -> tuple[str, str]:
    if isinstance(record, CreditNote):
        return keys.CREDIT_NOTE_PREFIX + record.number, "credit_note"
    if isinstance(record, Payment):
        return keys.PAYMENT_PREFIX + record.payment_id, "payment"
    if isinstance(record, Allocation):
        parts = (record.source.value, record.source_id, record.invoice_number)
        return keys.ALLOCATION_PREFIX + "#".join(parts), "allocation"
    if isinstance(record, Case):
        return keys.CASE_PREFIX + record.case_id, "case"
    return f"{keys.TOUCH_PREFIX}{record.sent_at.isoformat()}#{record.touch_id}", "touch"


_ENTITIES: dict[str, tuple[type[BaseModel], str]] = {
    "invoice": (Invoice, "invoices"),
    "credit_note": (CreditNote, "credit_notes"),
    "payment": (Payment, "payments"),
    "allocation": (Allocation, "allocations"),
    "case": (Case, "cases"),
    "touch": (Touch, "touches"),
}


def _file(records: AccountRecords, item: dict[str, Any]) -> None:
    entity = _ENTITIES.get(str(item.get("entity")))
    if entity is not None:
        model, attribute = entity
        getattr(records, attribute).append(_record(model, item))
