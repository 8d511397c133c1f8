"""Settings each function reads from its environment at cold start; a missing one stops it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    ledger_table: str = Field(min_length=3)
    audit_table: str = Field(min_length=3)
    idempotency_table: str = Field(min_length=3)
    inbox_bucket: str = Field(min_length=3)
    review_shards: int = Field(ge=1, le=256)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting, naming each missing one; never fall back to a guess."""
        environ = os.environ if environ is None else environ
        names = {
            "ledger_table": "LEDGER_TABLE_NAME",
            "audit_table": "AUDIT_TABLE_NAME",
            "idempotency_table": "IDEMPOTENCY_TABLE_NAME",
            "inbox_bucket": "INBOX_BUCKET_NAME",
            "review_shards": "REVIEW_SHARDS",
        }
        missing = [variable for variable in names.values() if not environ.get(variable)]
        if missing:
            raise ConfigurationError("missing environment settings: " + ", ".join(missing))
        try:
            return cls(**{field: environ[variable] for field, variable in names.items()})
        except ValueError as error:
            raise ConfigurationError(f"invalid environment settings: {error}") from None
