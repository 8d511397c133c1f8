"""Audit events: who did what to which account, with which inputs, why, and what came of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GENESIS_HASH = "0" * 64
SYSTEM_CHAIN = "_system"
"""The chain for events that belong to no account, such as a policy change."""


class ActorKind(StrEnum):
    AGENT = "agent"
    INTEGRATOR = "integrator"
    APPROVER = "approver"
    SYSTEM = "system"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ActorKind
    id: str = Field(min_length=1, description="IAM principal, approver email, or component name")


class Entry(BaseModel):
    """An event as an action reports it, before it takes its place in a chain."""

    model_config = ConfigDict(frozen=True)

    chain: str = Field(description="The account id, or _system")
    actor: Actor
    action: str = Field(description="What happened, as noun.verb: invoice.created")
    inputs: dict[str, Any] = Field(default_factory=dict)
    rationale: str = ""
    policy_version: str | None = None
    outcome: str = "done"
    model: dict[str, Any] | None = Field(
        default=None, description="The reasoning model used, if any: name, prompt hash, tokens"
    )


class AuditEvent(Entry):
    """An entry sealed into its chain: numbered, timed, and hashed over its predecessor."""

    sequence: int = Field(ge=1)
    at: datetime
    prev_hash: str
    hash: str
