"""What the demo's people read: the emails the local runtime sent, as its outbox holds them."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path


class Mailbox:
    """One reader's place in the outbox: each call returns what was sent since the last."""

    def __init__(self, outbox: Path, flush: Callable[[], object]) -> None:
        self._outbox = outbox
        self._flush = flush
        self._read: set[Path] = set()

    def new_messages(self) -> list[EmailMessage]:
        self._flush()
        unread = sorted(set(self._outbox.glob("*.eml")) - self._read)
        self._read.update(unread)
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in unread
        ]
