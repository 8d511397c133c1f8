"""Reading a raw MIME message: headers, addresses, readable text, attachments, automation signs.

Mail is untrusted and often slightly broken; a header that cannot be parsed is read as text or
left out rather than failing the message. Only a message with no headers, or no sender, is
refused, because nothing can be tied to it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.errors import MessageError
from email.message import MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from shared.mail.errors import UnreadableMail
from shared.mail.models import SUBJECT_LENGTH, Attachment, ParsedMail

MAX_THREAD_IDS = 50
"""References can grow with every reply; the newest are the ones outreach could have sent."""

MAX_ATTACHMENTS = 100
"""Summaries kept per message, so the record stays far below DynamoDB's item size limit; the
raw message in the bucket keeps every attachment."""

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_AUTOMATED_PRECEDENCE = frozenset({"auto_reply", "junk"})
_HEADER_FAILURES = (MessageError, ValueError, IndexError, TypeError, AttributeError, LookupError)


def parse_mime(raw: bytes, key: str) -> ParsedMail:
    """The facts of the message in `raw`; UnreadableMail (naming `key`) if it has none."""
    if not raw.strip():
        raise UnreadableMail(key, "the stored message is empty")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise UnreadableMail(key, "no header fields; this is not a MIME message")
    senders = _addresses(message, "From")
    if not senders:
        raise UnreadableMail(key, "no sender address in the From header")
    text = _text(message)
    return ParsedMail(
        message_id=next(iter(_message_ids(_header(message, "Message-ID"))), None),
        in_reply_to=_message_ids(_header(message, "In-Reply-To"))[:MAX_THREAD_IDS],
        references=_message_ids(_header(message, "References"))[-MAX_THREAD_IDS:],
        from_address=senders[0],
        recipients=list(
            dict.fromkeys(
                address
                for name in ("To", "Cc", "Delivered-To")
                for address in _addresses(message, name)
            )
        ),
        subject=" ".join(_header(message, "Subject").split())[:SUBJECT_LENGTH],
        sent_at=_date(_header(message, "Date")),
        text=text,
        attachments=_attachments(message)[:MAX_ATTACHMENTS],
        automated=_automation_signs(message, senders[0]),
    )


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: tags dropped, scripts and styles left out, blocks broken."""
    reader = _TextOfHtml()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _header(message: MIMEPart, name: str) -> str:
    """A header's decoded value, or its raw text when it does not parse; '' when absent."""
    try:
        value = message.get(name)
    except _HEADER_FAILURES:
        return next(iter(_raw_values(message, name)), "")
    return "" if value is None else str(value)


def _addresses(message: MIMEPart, name: str) -> list[str]:
    """Lower-cased addresses in every `name` header, read from the raw text, which always parses."""
    found = getaddresses(_raw_values(message, name))
    return [address.lower() for _, address in found if "@" in address]


def _raw_values(message: MIMEPart, name: str) -> list[str]:
    """A header's values as they arrived, unfolded."""
    wanted = name.lower()
    return [_FOLD.sub(" ", str(v)) for k, v in message.raw_items() if k.lower() == wanted]


def _message_ids(value: str) -> list[str]:
    """Message ids in a header, without angle brackets; a bare id counts when no <...> is found."""
    ids = _MESSAGE_ID.findall(value)
    if not ids and "@" in value:
        ids = [token.strip("<>") for token in value.split() if "@" in token]
    return list(dict.fromkeys(ids))


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        sent = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return sent.replace(tzinfo=UTC) if sent.tzinfo is None else sent.astimezone(UTC)


def _text(message: MIMEPart) -> str:
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except _HEADER_FAILURES:
        body = None
    if body is None:
        return ""
    content = _decoded_text(body)
    return html_to_text(content) if body.get_content_subtype() == "html" else content


def _decoded_text(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except _HEADER_FAILURES:
        content = None
    if isinstance(content, str):
        return content
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _attachments(message: MIMEPart) -> list[Attachment]:
    """Every leaf part that is not the readable body, or a text alternative of it."""
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except _HEADER_FAILURES:
        body = None
    found = []
    for part in _leaves(message):
        if part is body:
            continue
        filename = _filename(part)
        if filename is None and _is_text_alternative(part):
            continue
        found.append(
            Attachment(filename=filename, content_type=part.get_content_type(), size=_size(part))
        )
    return found


def _is_text_alternative(part: MIMEPart) -> bool:
    return part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment"


def _leaves(part: MIMEPart) -> list[MIMEPart]:
    """Leaf parts; an attached message (message/rfc822) counts as one leaf, not its insides."""
    if part.get_content_maintype() != "multipart" or not part.is_multipart():
        return [part]
    leaves: list[MIMEPart] = []
    for sub in part.iter_parts():
        if isinstance(sub, MIMEPart):
            leaves.extend(_leaves(sub))
    return leaves


def _filename(part: MIMEPart) -> str | None:
    try:
        filename = part.get_filename()
    except _HEADER_FAILURES:
        return None
    if not filename:
        return None
    return " ".join(filename.split())[:255] or None


def _size(part: MIMEPart) -> int:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return len(payload)
    try:
        return len(part.as_bytes())
    except _HEADER_FAILURES:
        return 0


def _automation_signs(message: MIMEPart, sender: str) -> list[str]:
    """Why the message looks sent by a machine (auto-reply, bounce, list); empty for a person."""
    signs = []
    auto_submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        signs.append(f"auto-submitted: {auto_submitted}")
    if any(_raw_values(message, name) for name in ("X-Autoreply", "X-Autorespond")):
        signs.append("auto-reply header")
    if _header(message, "Precedence").strip().lower() in _AUTOMATED_PRECEDENCE:
        signs.append(f"precedence: {_header(message, 'Precedence').strip().lower()}")
    if _is_bounce(message, sender):
        signs.append("bounce")
    return signs


def _is_bounce(message: MIMEPart, sender: str) -> bool:
    if sender.partition("@")[0] in _BOUNCE_SENDERS or _raw_values(message, "X-Failed-Recipients"):
        return True
    report_type = str(message.get_param("report-type", "", header="content-type"))
    return message.get_content_type() == "multipart/report" and report_type == "delivery-status"


class _TextOfHtml(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "head", "title"})
    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
