"""The key approval links are signed with, kept in Secrets Manager and read once per cold start."""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MINIMUM_KEY_BYTES = 32

_cache: dict[str, bytes] = {}
_lock = threading.Lock()


def signing_key(client: SecretsManagerClient, secret_arn: str) -> bytes:
    """The secret's bytes (base64 in SecretString, or SecretBinary); refuses a short key."""
    with _lock:
        if secret_arn not in _cache:
            _cache[secret_arn] = _read(client, secret_arn)
        return _cache[secret_arn]


def _read(client: SecretsManagerClient, secret_arn: str) -> bytes:
    secret = client.get_secret_value(SecretId=secret_arn)
    if "SecretBinary" in secret:
        key = bytes(secret["SecretBinary"])
    else:
        key = base64.b64decode(secret.get("SecretString", ""), validate=False)
    if len(key) < MINIMUM_KEY_BYTES:
        raise ConfigurationError(
            f"the approval signing secret must hold at least {MINIMUM_KEY_BYTES} random bytes"
        )
    return key
