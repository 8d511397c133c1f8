"""Settings of the functions that email customers, read at cold start like Settings."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigurationError

VARIABLES = {
    "sender_address": "SENDER_ADDRESS",
    "sender_name": "SENDER_NAME",
    "mail_domain": "MAIL_DOMAIN",
    "configuration_set": "SES_CONFIGURATION_SET",
}
"""The environment variable each setting is read from; the stack and the local runtime set them."""


class OutreachSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    sender_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="The From address")
    sender_name: str = Field(
        min_length=1, max_length=120, description="Who signs the emails, e.g. the AR team's name"
    )
    mail_domain: str = Field(
        pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        description="The domain whose receipt rule takes replies; reply addresses are made on it",
    )
    configuration_set: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The SES configuration set outreach is sent with: it publishes the bounces "
        "and complaints that mark a contact",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OutreachSettings:
        """Every setting from the environment, naming each missing one; never a guessed default."""
        environ = os.environ if environ is None else environ
        missing = [name for name in VARIABLES.values() if not environ.get(name)]
        if missing:
            raise ConfigurationError("missing environment settings: " + ", ".join(missing))
        try:
            return cls(**{field: environ[name] for field, name in VARIABLES.items()})
        except ValueError as error:
            raise ConfigurationError(f"invalid environment settings: {error}") from None
