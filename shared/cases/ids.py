"""Case ids: derived from what opened the case, so opening it again finds the same case."""

from __future__ import annotations

import hashlib
import secrets

PROMISE = "ptp"
DISPUTE = "dsp"
PLAN = "pln"


def case_id_for(prefix: str, *source: str) -> str:
    """The id of the case `source` opens (a message id, a decision id): the same every time."""
    digest = hashlib.sha256("\x1f".join(source).encode()).hexdigest()
    return f"{prefix}-{digest[:20]}"


def new_case_id(prefix: str) -> str:
    """A fresh id, for a case whose request carries its own retry protection (Idempotency-Key)."""
    return f"{prefix}-{secrets.token_hex(10)}"
