"""Objects in the inbox bucket: what an S3 notification names, and reading one back, hashed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_CHUNK_BYTES = 1024 * 1024
_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


class CreatedObject(BaseModel):
    """One object an S3 ObjectCreated notification announces, with its key decoded."""

    model_config = ConfigDict(frozen=True)

    bucket: str = Field(min_length=3)
    key: str = Field(min_length=1)
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None


@dataclass(frozen=True)
class FetchedObject:
    """An object as read: its identity, SHA-256 and size over every byte, and the bytes kept.

    `complete` is False when the object was larger than the caller chose to hold in memory;
    `content` is then only its beginning, while `sha256` and `size` still cover all of it.
    """

    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int
    sha256: str
    content: bytes
    complete: bool


def created_objects(event: Mapping[str, Any]) -> list[CreatedObject]:
    """The objects an S3 notification event reports as created, keys URL-decoded.

    S3 sends its test event (no Records) when a notification is configured, and other event
    types may share a target; neither names a created object, so both yield nothing.
    """
    try:
        notification = _Notification.model_validate(event)
    except ValidationError as error:
        raise InvalidInput("event", f"not an S3 notification: {_first_problem(error)}") from None
    return [
        CreatedObject(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.object.key),
            size=record.s3.object.size,
            etag=record.s3.object.etag,
            version_id=record.s3.object.version_id,
        )
        for record in notification.records
        if record.event_name.startswith("ObjectCreated:")
    ]


def fetch(
    s3: S3Client,
    bucket: str,
    key: str,
    *,
    version_id: str | None = None,
    keep_bytes: int | None = None,
) -> FetchedObject:
    """Read an object (the latest version unless one is named), hashing all of it and keeping at
    most `keep_bytes` of it (None: all)."""
    try:
        if version_id:
            response = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
        else:
            response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _MISSING:
            raise NotFound("object", f"s3://{bucket}/{key}") from None
        raise
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    for chunk in response["Body"].iter_chunks(_CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
        if keep_bytes is None or len(kept) < keep_bytes:
            room = len(chunk) if keep_bytes is None else keep_bytes - len(kept)
            kept.extend(chunk[:room])
    return FetchedObject(
        bucket=bucket,
        key=key,
        etag=str(response.get("ETag", "")).strip('"'),
        version_id=response.get("VersionId"),
        size=size,
        sha256=digest.hexdigest(),
        content=bytes(kept),
        complete=len(kept) == size,
    )


class _Bucket(BaseModel):
    name: str


class _Object(BaseModel):
    key: str
    size: int | None = None
    etag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")


class _Entity(BaseModel):
    bucket: _Bucket
    object: _Object


class _Record(BaseModel):
    event_name: str = Field(alias="eventName")
    s3: _Entity


class _Notification(BaseModel):
    records: list[_Record] = Field(default_factory=list, alias="Records")


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"
