"""Where the policy comes from: AppConfig in AWS, a YAML or JSON file on this machine.

A new version is taken only if it validates; an invalid one is refused with its reasons and the
version already in force stays in force.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.errors import ConfigurationError, InvalidInput
from shared.policy.models import Policy

APPCONFIG_MAX_AGE_SECONDS = 60


class PolicyInvalid(InvalidInput):
    """A policy document that does not validate; `reasons` lists every problem found."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("policy", "; ".join(reasons))
        self.reasons = reasons


def parse_policy(text: str) -> Policy:
    """Validate a policy document written as JSON or YAML."""
    try:
        document = _parse(text)
    except ValueError as error:
        raise PolicyInvalid([f"not readable as JSON or YAML: {error}"]) from None
    try:
        return Policy.model_validate(document)
    except ValidationError as error:
        reasons = [
            ".".join(str(part) for part in problem["loc"]) + ": " + problem["msg"]
            for problem in error.errors()
        ]
        raise PolicyInvalid(reasons) from None


class PolicySource:
    """The policy in force, refreshed from its source; thread-safe."""

    def __init__(self, location: str) -> None:
        if not location.startswith(("file:", "appconfig:")):
            raise ConfigurationError(
                "POLICY_SOURCE must be file:<path> or appconfig:<application>/<env>/<profile>"
            )
        self.location = location
        self._in_force: Policy | None = None
        self._read: str | None = None
        """The document last fetched; the same text again is not parsed again."""
        self._lock = threading.Lock()

    def current(self) -> Policy:
        """The newest valid policy; an invalid new version leaves the previous one in force."""
        with self._lock:
            text = self._fetch()
            if text == self._read and self._in_force is not None:
                return self._in_force
            try:
                self._in_force = parse_policy(text)
            except PolicyInvalid:
                if self._in_force is None:
                    raise
            self._read = text
            return self._in_force

    def _fetch(self) -> str:
        kind, _, where = self.location.partition(":")
        if kind == "file":
            return Path(where).read_text()
        application, environment, profile = _appconfig_parts(where)
        from aws_lambda_powertools.utilities.parameters import get_app_config

        content = get_app_config(
            name=profile,
            environment=environment,
            application=application,
            max_age=APPCONFIG_MAX_AGE_SECONDS,
        )
        return content.decode() if isinstance(content, bytes) else str(content)


def _parse(text: str) -> Any:
    if text.lstrip().startswith("{"):
        return json.loads(text)
    import yaml  # only where policies are written by hand; AppConfig serves JSON

    return yaml.safe_load(text)


def _appconfig_parts(where: str) -> tuple[str, str, str]:
    parts = where.split("/")
    if len(parts) != 3 or not all(parts):
        raise ConfigurationError("an AppConfig policy source is appconfig:<app>/<env>/<profile>")
    return parts[0], parts[1], parts[2]
