"""Approval ids: opaque, derived from the decision that proposed the action, safe in a URL and as
a Step Functions execution name."""

from __future__ import annotations

import hashlib
import re

from shared.errors import InvalidInput

PREFIX = "apr_"
_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
"""Step Functions execution names allow 80 characters; these also need no escaping in a URL."""


def approval_id_for(decision_id: str) -> str:
    """The approval id of a decision: the same decision always gives the same approval."""
    if not decision_id:
        raise InvalidInput("decision_id", "must not be empty")
    return PREFIX + hashlib.sha256(decision_id.encode()).hexdigest()[:32]


def check_approval_id(approval_id: str) -> str:
    if not _PATTERN.fullmatch(approval_id):
        raise InvalidInput("approval_id", "must be 1 to 80 letters, digits, '_' or '-'")
    return approval_id
