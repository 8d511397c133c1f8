"""Why a received message could not be taken in."""

from __future__ import annotations

from shared.errors import InvalidInput


class UnreadableMail(InvalidInput):
    """The stored raw message is not a mail autoar can read; names what is wrong with it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__("raw message", f"{key}: {reason}")
        self.key = key
