"""The composition root: the clients and services a handler uses, built once per cold start.

Handlers ask `current()`; the local runtime and tests install their own with `use()`, for
example to put a simulated clock behind every handler.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from shared.audit.log import AuditLog
from shared.clock import Clock, SystemClock
from shared.ledger.service import Ledger
from shared.ledger.store import LedgerStore
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    dynamodb: DynamoDBClient
    audit: AuditLog
    ledger: Ledger
    s3: S3Client

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Services:
        clock = clock or SystemClock()
        dynamodb = boto3.client("dynamodb")
        audit = AuditLog(dynamodb, settings.audit_table, clock)
        store = LedgerStore(dynamodb, settings.ledger_table, settings.review_shards)
        ledger = Ledger(store, audit, clock)
        return cls(settings, clock, dynamodb, audit, ledger, boto3.client("s3"))


_current: Services | None = None
_lock = threading.Lock()


def current() -> Services:
    """The installed services, or ones built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Services.build(Settings.from_env())
        return _current


def use(services: Services | None) -> None:
    """Install services for every handler in this process; None goes back to the environment."""
    global _current
    with _lock:
        _current = services
