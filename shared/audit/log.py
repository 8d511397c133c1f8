"""The audit table: chains appended inside the same transaction as the change they record."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.audit.chain import ChainBreak, seal, sequence_of, verify_chain
from shared.audit.models import GENESIS_HASH, AuditEvent, Entry
from shared.clock import Clock
from shared.dynamodb import (
    Transaction,
    TransactionRefused,
    commit,
    deserialize,
    query_all,
    scan_all,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

APPEND_ATTEMPTS = 8
"""How often a write is retried when another writer took the chain position it read."""

_CHAIN_PREFIX = "ACCOUNT#"


@dataclass(frozen=True)
class VerificationReport:
    chains: int
    events: int
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


class AuditLog:
    def __init__(self, client: DynamoDBClient, table: str, clock: Clock) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def record(
        self, entries: Sequence[Entry], changes: Transaction | None = None
    ) -> list[AuditEvent]:
        """Write the changes and their audit events together, or neither.

        Two writers that read the same chain head both try to take the next sequence number;
        the loser's whole transaction is refused and it retries on the new head. A refusal of
        one of the changes themselves is not retried: it is the caller's conflict to report.
        """
        changes = changes or Transaction()
        for _ in range(APPEND_ATTEMPTS):
            transaction = Transaction()
            transaction.extend(changes)
            events = self._seal(entries)
            for event in events:
                self._stage(transaction, event)
            try:
                commit(self._client, transaction)
            except TransactionRefused as refused:
                if any(not label.startswith("audit ") for label in refused.failed):
                    raise
                continue
            return events
        raise TransactionRefused(["audit chain head kept moving"], [])

    def events(
        self, chain: str, *, after: int = 0, limit: int | None = None, newest_first: bool = False
    ) -> list[AuditEvent]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND #seq > :after",
            "ExpressionAttributeNames": {"#seq": "sequence"},
            "ExpressionAttributeValues": {
                ":pk": {"S": _CHAIN_PREFIX + chain},
                ":after": {"N": str(after)},
            },
            "ScanIndexForward": not newest_first,
        }
        if limit is not None:
            kwargs["Limit"] = limit
            page = self._client.query(**kwargs)
            return [_event(deserialize(item)) for item in page.get("Items", [])]
        return [_event(item) for item in query_all(self._client, **kwargs)]

    def head(self, chain: str) -> tuple[int, str]:
        """The sequence and hash of the newest event, or (0, genesis) for an empty chain."""
        newest = self.events(chain, limit=1, newest_first=True)
        return (newest[0].sequence, newest[0].hash) if newest else (0, GENESIS_HASH)

    def verify(self, chain: str | None = None) -> VerificationReport:
        """Recompute every chain (or one) from storage and report the first break of each."""
        chains = {chain: self._stored(chain)} if chain else self._all_stored()
        found = (verify_chain(name, events) for name, events in sorted(chains.items()))
        return VerificationReport(
            chains=len(chains),
            events=sum(len(events) for events in chains.values()),
            breaks=[chain_break for chain_break in found if chain_break is not None],
        )

    def _seal(self, entries: Sequence[Entry]) -> list[AuditEvent]:
        heads: dict[str, tuple[int, str]] = {}
        at: datetime = self._clock.now()
        sealed = []
        for entry in entries:
            sequence, prev_hash = heads.get(entry.chain) or self.head(entry.chain)
            event = seal(entry, sequence=sequence + 1, at=at, prev_hash=prev_hash)
            heads[entry.chain] = (event.sequence, event.hash)
            sealed.append(event)
        return sealed

    def _stage(self, transaction: Transaction, event: AuditEvent) -> None:
        item = {"PK": _CHAIN_PREFIX + event.chain, **event.model_dump(mode="python")}
        transaction.put(
            self._table,
            item,
            describe=f"audit {event.chain}#{event.sequence}",
            condition="attribute_not_exists(PK)",
        )

    def _stored(self, chain: str) -> list[dict[str, Any]]:
        return [
            _fields(item)
            for item in query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": _CHAIN_PREFIX + chain}},
                ConsistentRead=True,
            )
        ]

    def _all_stored(self) -> dict[str, list[dict[str, Any]]]:
        chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in scan_all(self._client, TableName=self._table, ConsistentRead=True):
            chains[str(item["PK"]).removeprefix(_CHAIN_PREFIX)].append(_fields(item))
        for events in chains.values():
            events.sort(key=lambda event: sequence_of(event.get("sequence")) or 0)
        return dict(chains)


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    """The event's own fields as stored, without the table key."""
    return {key: value for key, value in item.items() if key != "PK"}


def _event(item: dict[str, Any]) -> AuditEvent:
    return AuditEvent.model_validate(_fields(item))
