"""Signed approval links and the CSRF token of the page they open.

A link names the approval, the approver it was sent to and when it lapses, and carries an
HMAC-SHA256 over exactly those three under the deployment's signing key; changing any of them
breaks the signature. The page's form carries a second HMAC, bound to the same three and to its
purpose, so a decision can only be posted from a page that was served for a valid link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

_LINK = b"approval-link"
_FORM = b"approval-form"


@dataclass(frozen=True)
class SignedLink:
    approval_id: str
    approver: str
    expires: int
    """Unix seconds after which the link no longer decides anything."""

    def message(self) -> bytes:
        """The signed fields, encoded so no two different links share a message."""
        return json.dumps([self.approval_id, self.approver.lower(), self.expires]).encode()

    def expired(self, now: datetime) -> bool:
        return now.astimezone(UTC).timestamp() >= self.expires


def sign(link: SignedLink, key: bytes) -> str:
    return _mac(key, _LINK, link.message())


def csrf_token(link: SignedLink, key: bytes) -> str:
    return _mac(key, _FORM, link.message())


def valid(link: SignedLink, signature: str, key: bytes) -> bool:
    return _same(sign(link, key), signature)


def valid_csrf(link: SignedLink, token: str, key: bytes) -> bool:
    return _same(csrf_token(link, key), token)


def url(base_url: str, link: SignedLink, key: bytes) -> str:
    """The link an approver clicks: GET shows the page, it never decides."""
    query = urlencode({"approver": link.approver, "expires": link.expires, "sig": sign(link, key)})
    return f"{base_url.rstrip('/')}/approvals/{quote(link.approval_id, safe='')}?{query}"


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input from a tampered link."""
    return hmac.compare_digest(expected.encode(), given.encode(errors="surrogateescape"))


def _mac(key: bytes, purpose: bytes, message: bytes) -> str:
    digest = hmac.new(key, purpose + b"\n" + message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
