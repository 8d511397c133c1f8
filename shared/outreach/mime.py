"""An outbox email as the MIME message SES sends: text and HTML alternatives, PDFs attached."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from shared.outreach.models import OutboxEmail


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


def compose_mime(email: OutboxEmail, attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """The message, the same on every attempt: its Message-ID and Date are the recorded ones.

    Replies go to the account's reply address, so they reach this account whichever way the
    customer answers; `Auto-Submitted` keeps out-of-office robots from answering at all.
    """
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = formataddr((_one_line(email.recipient_name), email.recipient))
    message["Reply-To"] = email.reply_to
    message["Subject"] = _one_line(email.subject)
    message["Date"] = format_datetime(email.queued_at.astimezone(UTC))
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    # Last: setting the content clears every Content-* header set before it.
    message["Content-Language"] = email.language
    return message


def sender_header(name: str, address: str) -> str:
    return formataddr((_one_line(name), address))


def _one_line(value: str) -> str:
    """Whitespace collapsed: a name with a line break must never split a header."""
    return re.sub(r"\s+", " ", value).strip()
