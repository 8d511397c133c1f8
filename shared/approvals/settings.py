"""Settings of the functions that take part in approvals, read at cold start like Settings.

`ApprovalSettings` is what requesting and deciding approvals needs. `ApprovalMailSettings` is
the part the approval_request task needs to email approvers: it must not need the state
machine's ARN, because the state machine's definition names that function (a CloudFormation
cycle otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigurationError

VARIABLES = {
    "state_machine_arn": "APPROVAL_STATE_MACHINE_ARN",
    "signing_secret_arn": "APPROVAL_SIGNING_SECRET_ARN",
    "base_url": "APPROVAL_BASE_URL",
    "sender_address": "SENDER_ADDRESS",
    "policy_source": "POLICY_SOURCE",
}
"""The environment variable each setting is read from; the stack and the local runtime set them."""
SettingsT = TypeVar("SettingsT", bound=BaseModel)

_MAIL_VARIABLES = {
    field: VARIABLES[field] for field in ("signing_secret_arn", "base_url", "sender_address")
}


class ApprovalSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    state_machine_arn: str = Field(min_length=20)
    signing_secret_arn: str = Field(min_length=3)
    base_url: str = Field(pattern=r"^https?://", description="Where approval links point")
    sender_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    policy_source: str = Field(
        pattern=r"^(file:|appconfig:)", description="file:<path> or appconfig:<app>/<env>/<profile>"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApprovalSettings:
        return _read(cls, VARIABLES, environ)


class ApprovalMailSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    signing_secret_arn: str = Field(min_length=3)
    base_url: str = Field(pattern=r"^https?://", description="Where approval links point")
    sender_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApprovalMailSettings:
        return _read(cls, _MAIL_VARIABLES, environ)


def _read(
    cls: type[SettingsT], variables: Mapping[str, str], environ: Mapping[str, str] | None
) -> SettingsT:
    """Every setting from the environment, naming each missing one; never a guessed default."""
    environ = os.environ if environ is None else environ
    missing = [name for name in variables.values() if not environ.get(name)]
    if missing:
        raise ConfigurationError("missing environment settings: " + ", ".join(missing))
    try:
        return cls(**{field: environ[name] for field, name in variables.items()})
    except ValueError as error:
        raise ConfigurationError(f"invalid environment settings: {error}") from None
