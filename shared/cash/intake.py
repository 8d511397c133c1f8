"""Taking in a bank file dropped in the inbox: recognise it, store it once, audit it.

Nothing ties a bank file to an account yet, so every event goes to the system chain. A file in
no known format is still stored and audited, as unrecognised, for a person to look at; the
content is never thrown away and an unknown format never becomes an error that retries forever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.audit.log import AuditLog
from shared.audit.models import SYSTEM_CHAIN, Actor, ActorKind, Entry
from shared.cash.formats import BankFileFacts, BankFileFormat, inspect
from shared.cash.models import (
    BankFile,
    BankFileReceipt,
    BankFileStatus,
    IntakeStatus,
    Upload,
)
from shared.cash.store import BankFileStore
from shared.clock import Clock
from shared.dynamodb import Transaction, TransactionRefused
from shared.errors import Conflict, InvalidInput
from shared.objects import CreatedObject, FetchedObject, fetch

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shared.services import Services

REMITTANCE_PREFIX = "inbox/remittance/"
"""Where bank files and remittance advice are dropped; infra.manifest.INBOX.remittance_prefix."""

MAX_INSPECTED_BYTES = 32 * 1024 * 1024
"""Larger files are hashed in full but only their beginning is inspected, so counts are left out."""

ACTOR = Actor(kind=ActorKind.SYSTEM, id="remittance")


class BankFileIntake:
    def __init__(
        self, s3: S3Client, bucket: str, store: BankFileStore, audit: AuditLog, clock: Clock
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._store = store
        self._audit = audit
        self._clock = clock

    @classmethod
    def from_services(cls, services: Services) -> BankFileIntake:
        store = BankFileStore(services.dynamodb, services.settings.ledger_table)
        return cls(
            services.s3, services.settings.inbox_bucket, store, services.audit, services.clock
        )

    def receive(self, created: CreatedObject) -> BankFileReceipt:
        """Record one created object: a new file, a duplicate of one, or one seen before.

        Raises InvalidInput for an object outside the remittance prefix of the inbox bucket and
        NotFound when the object is gone; nothing is written in either case.
        """
        self._check_location(created)
        if created.key.endswith("/"):
            return BankFileReceipt(key=created.key, status=IntakeStatus.SKIPPED)
        fetched = fetch(
            self._s3,
            self._bucket,
            created.key,
            version_id=created.version_id,
            keep_bytes=MAX_INSPECTED_BYTES,
        )
        facts = inspect(fetched.content, complete=fetched.complete)
        upload = Upload(
            sha256=fetched.sha256,
            key=fetched.key,
            version_id=fetched.version_id,
            etag=fetched.etag,
            received_at=self._clock.now(),
            duplicate=False,
        )
        first = self._store.bank_file(fetched.sha256)
        if first is None:
            receipt = self._record_new(_bank_file(fetched, facts, upload), upload)
            if receipt is not None:
                return receipt
            first = self._store.bank_file(fetched.sha256)
        if first is None:
            raise Conflict(f"bank file {fetched.sha256} was refused as stored but is not there")
        return self._record_duplicate(first, upload.model_copy(update={"duplicate": True}))

    def _check_location(self, created: CreatedObject) -> None:
        if created.bucket != self._bucket:
            raise InvalidInput("bucket", f"{created.bucket} is not the inbox bucket")
        if not created.key.startswith(REMITTANCE_PREFIX):
            raise InvalidInput("key", f"{created.key} is not under {REMITTANCE_PREFIX}")

    def _record_new(self, bank_file: BankFile, upload: Upload) -> BankFileReceipt | None:
        """Store a content never seen; None when another upload of it won the race to store."""
        changes = Transaction()
        self._store.stage_new_file(changes, bank_file)
        self._store.stage_upload(changes, upload)
        try:
            self._audit.record([_received(bank_file)], changes)
        except TransactionRefused as refused:
            if self._store.upload_label(upload) in refused.failed:
                return _receipt(bank_file, upload, IntakeStatus.ALREADY_RECORDED)
            if self._store.file_label(bank_file.sha256) in refused.failed:
                return None
            raise
        return _receipt(bank_file, upload, IntakeStatus.RECORDED)

    def _record_duplicate(self, first: BankFile, upload: Upload) -> BankFileReceipt:
        changes = Transaction()
        self._store.stage_upload(changes, upload)
        try:
            self._audit.record([_duplicate(first, upload)], changes)
        except TransactionRefused as refused:
            if self._store.upload_label(upload) not in refused.failed:
                raise
            status = IntakeStatus.ALREADY_RECORDED
        else:
            status = IntakeStatus.DUPLICATE
        return _receipt(first, upload, status)


def _bank_file(fetched: FetchedObject, facts: BankFileFacts, upload: Upload) -> BankFile:
    recognised = facts.format is not BankFileFormat.UNKNOWN
    return BankFile(
        sha256=fetched.sha256,
        bucket=fetched.bucket,
        key=fetched.key,
        version_id=fetched.version_id,
        etag=fetched.etag,
        size=fetched.size,
        format=facts.format,
        detected_by=facts.detected_by,
        file_id=facts.file_id,
        statements=facts.statements,
        entries=facts.entries,
        received_at=upload.received_at,
        status=BankFileStatus.RECEIVED if recognised else BankFileStatus.UNRECOGNISED,
    )


def _received(bank_file: BankFile) -> Entry:
    recognised = bank_file.status is BankFileStatus.RECEIVED
    return Entry(
        chain=SYSTEM_CHAIN,
        actor=ACTOR,
        action="bank_file.received",
        inputs={
            "key": bank_file.key,
            "version_id": bank_file.version_id,
            "sha256": bank_file.sha256,
            "size": bank_file.size,
            "format": bank_file.format,
            "file_id": bank_file.file_id,
            "statements": bank_file.statements,
            "entries": bank_file.entries,
        },
        rationale=f"format judged by content: {bank_file.detected_by}",
        outcome="received" if recognised else "stored as unrecognised for the finance team",
    )


def _duplicate(first: BankFile, upload: Upload) -> Entry:
    return Entry(
        chain=SYSTEM_CHAIN,
        actor=ACTOR,
        action="bank_file.duplicate",
        inputs={
            "key": upload.key,
            "version_id": upload.version_id,
            "sha256": upload.sha256,
            "first_key": first.key,
            "first_received_at": first.received_at,
        },
        rationale="the same content (same SHA-256) arrived before; it is not stored twice",
        outcome="ignored",
    )


def _receipt(first: BankFile, upload: Upload, status: IntakeStatus) -> BankFileReceipt:
    return BankFileReceipt(
        key=upload.key,
        status=status,
        sha256=first.sha256,
        format=first.format,
        file_status=first.status,
        size=first.size,
        entries=first.entries,
        first_key=first.key if status is IntakeStatus.DUPLICATE else None,
    )
