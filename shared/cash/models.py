"""Bank files as autoar keeps them: one record per distinct content, one per upload of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.cash.formats import BankFileFormat


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BankFileStatus(StrEnum):
    RECEIVED = "received"
    UNRECOGNISED = "unrecognised"


class BankFile(Frozen):
    """A bank file's content, stored once however often it is uploaded; named by its SHA-256."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bucket: str
    key: str = Field(description="Where the content first arrived")
    version_id: str | None
    etag: str
    size: int = Field(ge=0)
    format: BankFileFormat
    detected_by: str
    file_id: str | None
    statements: int | None
    entries: int | None
    received_at: datetime
    status: BankFileStatus


class Upload(Frozen):
    """One arrival of a bank file's content at a key of the inbox bucket."""

    sha256: str
    key: str
    version_id: str | None
    etag: str
    received_at: datetime
    duplicate: bool = Field(description="The content had arrived before under another upload")


class IntakeStatus(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    ALREADY_RECORDED = "already_recorded"
    SKIPPED = "skipped"


class BankFileReceipt(Frozen):
    """What intake did with one created object, for the handler's response and logs."""

    key: str
    status: IntakeStatus
    sha256: str | None = None
    format: BankFileFormat | None = None
    file_status: BankFileStatus | None = None
    size: int | None = None
    entries: int | None = None
    first_key: str | None = Field(default=None, description="For a duplicate: the original key")
