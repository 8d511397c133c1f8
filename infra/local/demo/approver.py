"""The demo company's approvers: they read the approval emails and decide on the linked page.

They do what a person does each morning: open the link of every approval email that came in,
read the page, and press Approve or Reject on its form, over HTTP like a browser. A link that
lapsed or was closed before they got to it shows them a page saying so, and they move on.
"""

from __future__ import annotations

import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser

from infra.local.demo.mailbox import Mailbox

_LINK = re.compile(r"https?://[^\s<>\"]+/approvals/[^\s<>\"]+")


@dataclass(frozen=True)
class Decided:
    approval_id: str
    decision: str
    status: int


class Approvers:
    def __init__(self, rng: random.Random, mailbox: Mailbox, approve_share: float = 0.8) -> None:
        self._rng = rng
        self._mailbox = mailbox
        self._approve_share = approve_share
        self.decided: list[Decided] = []

    def answer(self, expected: int) -> list[Decided]:
        """Wait for `expected` new approval emails (they are sent by a Step Functions task, a
        moment after the request), then decide each on its page."""
        links = wait_for(self._new_links, expected)
        answered = [
            decide_on_page(link, self._rng.random() < self._approve_share) for link in links
        ]
        self.decided.extend(answered)
        return answered

    def _new_links(self) -> list[str]:
        found = (approval_link(message) for message in self._mailbox.new_messages())
        return [link for link in found if link is not None]


def approval_link(message: EmailMessage) -> str | None:
    if not str(message.get("Subject", "")).startswith("Approval needed"):
        return None
    body = message.get_body(preferencelist=("plain",))
    found = _LINK.search(body.get_content() if body is not None else "")
    return found.group(0) if found else None


def decide_on_page(link: str, approve: bool) -> Decided:
    """Open the page and press a button; a page that refuses (expired, already decided) is
    recorded with its status, as a person who read it would just close it."""
    approval_id = urllib.parse.urlsplit(link).path.rsplit("/", 1)[-1]
    try:
        with urllib.request.urlopen(link, timeout=30) as response:
            form = _Form.read(response.read().decode())
    except urllib.error.HTTPError as refused:
        return Decided(approval_id, "none", refused.code)
    fields = {**form.hidden, "decision": "approve" if approve else "reject"}
    fields["comment"] = "Agreed." if approve else "Keep pursuing; the customer is still trading."
    target = urllib.parse.urljoin(link, form.action)
    request = urllib.request.Request(
        target,
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as refused:
        status = refused.code
    return Decided(approval_id, fields["decision"], status)


def wait_for(check: Callable[[], list[str]], expected: int, seconds: float = 20.0) -> list[str]:
    """Collect what `check` returns until `expected` items came or time ran out."""
    found: list[str] = []
    deadline = time.monotonic() + seconds
    while len(found) < expected and time.monotonic() < deadline:
        found.extend(check())
        if len(found) < expected:
            time.sleep(0.05)
    return found


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}

    @classmethod
    def read(cls, page: str) -> _Form:
        form = cls()
        form.feed(page)
        return form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = named.get("action", "")
        elif tag == "input" and named.get("type") == "hidden" and "name" in named:
            self.hidden[named["name"]] = named.get("value", "")
