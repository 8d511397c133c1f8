"""Typed errors raised by the library; each entry point maps them to a response in one place."""

from __future__ import annotations


class AutoarError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidInput(AutoarError):
    """Input that can never succeed as sent; names the field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(AutoarError):
    """A referenced account, invoice or other record does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class Conflict(AutoarError):
    """The write lost a race or contradicts stored state (already exists, stale version)."""


class ConfigurationError(AutoarError):
    """A required setting is missing or malformed; raised at cold start, never mid-request."""
