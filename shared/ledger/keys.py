"""How ledger records map onto the single ledger table's keys and indexes."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

ACCOUNT_PREFIX = "ACCOUNT#"
PROFILE = "PROFILE"
INVOICE_PREFIX = "INVOICE#"
CREDIT_NOTE_PREFIX = "CREDIT#"
PAYMENT_PREFIX = "PAYMENT#"
ALLOCATION_PREFIX = "ALLOC#"
CASE_PREFIX = "CASE#"
TOUCH_PREFIX = "TOUCH#"
UNAPPLIED = "UNAPPLIED"


def account_pk(account_id: str) -> str:
    return ACCOUNT_PREFIX + account_id


def key(account_id: str, sort_key: str) -> dict[str, str]:
    return {"PK": account_pk(account_id), "SK": sort_key}


def profile_key(account_id: str) -> dict[str, str]:
    return key(account_id, PROFILE)


def invoice_key(account_id: str, number: str) -> dict[str, str]:
    return key(account_id, INVOICE_PREFIX + number)


def normalized_reference(text: str) -> str:
    """An invoice number as remittance tends to mangle it: case, spaces and dashes ignored."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def invoice_number_key(number: str) -> str:
    return "INVNO#" + normalized_reference(number)


def contact_email_key(email: str, account_id: str) -> dict[str, str]:
    """The lookup item that ties a sender's address to the account it is a contact of."""
    return {"PK": "EMAIL#" + email.lower(), "SK": account_pk(account_id)}


def review_shard(account_id: str, shards: int) -> str:
    """A stable shard for the account, so the sweep reads many small partitions, not one hot one."""
    digest = hashlib.sha256(account_id.encode()).digest()
    return f"REVIEW#{int.from_bytes(digest[:4], 'big') % shards:03d}"


def next_review_key(when: datetime, account_id: str) -> str:
    return f"{when.astimezone(UTC).isoformat()}#{account_id}"
