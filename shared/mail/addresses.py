"""Reply addresses that carry the account they belong to: `ar+<token>@<domain>`.

Outreach sends from (or sets Reply-To to) `reply_address(account_id, domain)`; whatever mail
client the customer uses replies to it, and inbound mail reads the account back out of the
recipient with `account_from_address`, before any other way of tying the reply to an account.

The token is `<body>.<tag>`:

- body: the account id, written to survive the rules of an email local part and any mail
  system that changes its case. Lower-case letters, digits and `-` stand for themselves. In an
  id with no lower-case letter (`ACME`, `CUST-0042`) the upper-case letters are simply lowered;
  in any other id each upper-case letter is written `_` + the letter. `.`, `_`, `:` and `/` are
  written `_0`, `_1`, `_2` and `_3`. The body uses only `a-z 0-9 - _`, never a dot.
- tag: the first 40 bits of HMAC-SHA256 over the exact account id, in lower-case base32
  (8 characters). It resolves whether a lowered body meant upper or lower case, and it stops a
  mistyped or truncated address from tying a reply to a different account that happens to
  exist.

The local part stays within the 64 characters RFC 5321 allows. Every id of up to 26 characters
fits, and every id of letters, digits and `-` in one case of up to 52; a longer id is refused
by `reply_address`, and outreach then uses its plain address: the reply still reaches its
account through the thread or the sender.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import parseaddr

from shared.errors import InvalidInput

MAILBOX = "ar"
MAX_LOCAL_PART = 64
TAG_LENGTH = 8

# NOTE: the tag key is a fixed constant, so the tag is a checksum anyone can compute, not a
# signature: someone who knows an account id can address mail to it. A reply tied by token is
# therefore only ever untrusted customer text. A per-deployment key (from Secrets Manager, passed
# by outreach and inbound mail alike) would make the tag a signature without changing the format.
_TAG_KEY = b"autoar reply token v1"

_SPECIALS = {".": "_0", "_": "_1", ":": "_2", "/": "_3"}
_UNESCAPE = {code[1]: char for char, code in _SPECIALS.items()}
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_TOKEN = re.compile(r"^(?P<body>[a-z0-9_-]+)\.(?P<tag>[a-z2-7]{8})$")


def reply_address(account_id: str, domain: str, mailbox: str = MAILBOX) -> str:
    """The address whose replies tie to `account_id`; InvalidInput when it cannot carry it."""
    if not _ACCOUNT_ID.match(account_id):
        raise InvalidInput("account_id", "is not an account id")
    local_part = f"{mailbox}+{reply_token(account_id)}"
    if len(local_part) > MAX_LOCAL_PART:
        raise InvalidInput(
            "account_id",
            f"too long to carry in a reply address ({len(local_part)} of {MAX_LOCAL_PART} "
            "characters); use the plain address",
        )
    return f"{local_part}@{domain.lower()}"


def reply_token(account_id: str) -> str:
    return f"{_encode(account_id)}.{_tag(account_id)}"


def account_from_address(address: str) -> str | None:
    """The account a recipient address names through its `+token`, if it names a valid one."""
    _, bare = parseaddr(address)
    local_part, at, _ = bare.rpartition("@")
    _, plus, token = local_part.partition("+")
    if not at or not plus:
        return None
    return parse_reply_token(token)


def parse_reply_token(token: str) -> str | None:
    """The account id a token carries, or None when it is malformed or its tag does not match."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        return None
    decoded = _decode(match["body"])
    if decoded is None:
        return None
    for candidate in dict.fromkeys((decoded, decoded.upper())):
        if _ACCOUNT_ID.match(candidate) and hmac.compare_digest(_tag(candidate), match["tag"]):
            return candidate
    return None


def _encode(account_id: str) -> str:
    has_lower = any(char.islower() for char in account_id)
    parts = []
    for char in account_id if has_lower else account_id.lower():
        if char in _SPECIALS:
            parts.append(_SPECIALS[char])
        elif char.isupper():
            parts.append("_" + char.lower())
        else:
            parts.append(char)
    return "".join(parts)


def _decode(body: str) -> str | None:
    chars: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            if char.isdigit():
                if char not in _UNESCAPE:
                    return None
                chars.append(_UNESCAPE[char])
            elif char.isalpha():
                chars.append(char.upper())
            else:
                return None
            escaped = False
        elif char == "_":
            escaped = True
        else:
            chars.append(char)
    return None if escaped else "".join(chars)


def _tag(account_id: str) -> str:
    digest = hmac.new(_TAG_KEY, account_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode().lower()
