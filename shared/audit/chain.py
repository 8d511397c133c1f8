"""Hashing and verifying audit chains; pure functions, no storage.

Each event's hash is SHA-256 over the canonical JSON of every field but the hash itself, and that
includes the previous event's hash, so changing, removing or reordering any event breaks every
link after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from shared.audit.models import GENESIS_HASH, AuditEvent, Entry


def jsonable(value: Any) -> Any:
    """A value as it will read back from storage: numbers become normalized decimal strings.

    DynamoDB stores 10.50 as 10.5 and returns integers as Decimal, so numbers are held as
    strings from the start; otherwise a faithful round trip would look like tampering.
    """
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, int | Decimal):
        return _decimal_text(Decimal(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in the audit trail")


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(
        jsonable(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def event_hash(fields: Mapping[str, Any]) -> str:
    """The hash of an event from all its fields except `hash`."""
    hashed = {name: value for name, value in fields.items() if name != "hash"}
    return hashlib.sha256(canonical_json(hashed)).hexdigest()


def seal(entry: Entry, *, sequence: int, at: datetime, prev_hash: str) -> AuditEvent:
    """Place an entry after the event numbered sequence - 1 whose hash is prev_hash."""
    fields = {
        **entry.model_dump(mode="python"),
        "inputs": jsonable(entry.inputs),
        "model": jsonable(entry.model),
        "sequence": sequence,
        "at": at.astimezone(UTC),
        "prev_hash": prev_hash,
    }
    return AuditEvent(**fields, hash=event_hash(fields))


@dataclass(frozen=True)
class ChainBreak:
    """The first event of a chain that does not hold: the place tampering starts."""

    chain: str
    sequence: int
    reason: str

    def __str__(self) -> str:
        return f"chain {self.chain}: event {self.sequence}: {self.reason}"


def verify_chain(chain: str, events: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """Recompute a chain from its stored events, in sequence order; None when it is intact."""
    expected_sequence, prev_hash = 1, GENESIS_HASH
    for event in events:
        sequence = sequence_of(event.get("sequence"))
        if sequence != expected_sequence:
            reason = f"expected event {expected_sequence} here, found {sequence}"
            return ChainBreak(chain, expected_sequence, reason)
        if event.get("prev_hash") != prev_hash:
            return ChainBreak(chain, sequence, "does not link to the event before it")
        if event.get("chain") != chain:
            return ChainBreak(chain, sequence, f"claims to belong to chain {event.get('chain')}")
        recomputed = event_hash(event)
        if event.get("hash") != recomputed:
            return ChainBreak(chain, sequence, "its contents do not match its hash")
        expected_sequence, prev_hash = sequence + 1, recomputed
    return None


def sequence_of(value: Any) -> int | None:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None


def _decimal_text(value: Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")
