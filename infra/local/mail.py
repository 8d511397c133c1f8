"""Mail on the loopback: an SMTP listener and a drop folder for inbound mail, an outbox for sent.

Inbound mail follows the path of an SES receipt rule: the raw MIME is stored in the inbox
bucket under the mail prefix, then `inbound_mail` is invoked with an SES receipt event.
Everything SES sends is also written to the outbox folder as an .eml file a person can open.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Deliver = Callable[[dict[str, Any]], None]


class InboundMail:
    """Receives raw messages and delivers them as SES would: object first, then the event."""

    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        prefix: str,
        deliver: Deliver,
        clock: Callable[[], datetime],
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self._deliver = deliver
        self._now = clock

    def receive(self, raw: bytes, recipients: list[str] | None = None) -> str:
        """Store and deliver one message; returns the SES message id it was given."""
        message_id = secrets.token_hex(20)
        self._s3.put_object(Bucket=self._bucket, Key=self._prefix + message_id, Body=raw)
        self._deliver(ses_receipt_event(raw, message_id, self._now(), recipients))
        return message_id


class SmtpListener:
    def __init__(self, inbound: InboundMail, host: str = "127.0.0.1", port: int = 0) -> None:
        self._inbound = inbound
        self.host = host
        self.port = port or _free_port(host)
        self._controller = Controller(_SmtpHandler(inbound), hostname=host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class _SmtpHandler:
    def __init__(self, inbound: InboundMail) -> None:
        self._inbound = inbound

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        recipients = [str(address) for address in envelope.rcpt_tos]
        self._inbound.receive(raw if isinstance(raw, bytes) else raw.encode(), recipients)
        return "250 Message accepted for delivery"


class DropFolder:
    """A folder whose new files are handed to `accept` and then moved to `processed/`."""

    def __init__(self, folder: Path, accept: Callable[[Path], object], pattern: str = "*") -> None:
        self.folder = folder
        self._accept = accept
        self._pattern = pattern
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "processed").mkdir(exist_ok=True)

    def scan(self) -> int:
        """Deliver every waiting file once; returns how many were delivered."""
        delivered = 0
        for path in sorted(self.folder.glob(self._pattern)):
            if path.is_file() and not path.name.startswith("."):
                self._accept(path)
                path.rename(self.folder / "processed" / path.name)
                delivered += 1
        return delivered


class Outbox:
    """Writes every message moto's SES has sent, once, as an .eml file."""

    def __init__(self, folder: Path, sent_messages: Callable[[], list[Any]]) -> None:
        self.folder = folder
        self._sent_messages = sent_messages
        self._written = 0
        self._lock = threading.Lock()
        self.folder.mkdir(parents=True, exist_ok=True)

    def flush(self) -> list[Path]:
        with self._lock:
            messages = self._sent_messages()[self._written :]
            paths = [self._write(self._written + n, m) for n, m in enumerate(messages)]
            self._written += len(messages)
            return paths

    def _write(self, number: int, message: Any) -> Path:
        raw = getattr(message, "raw_data", None)
        if raw is None:
            raw = _compose(message)
        path = self.folder / f"{number + 1:05d}.eml"
        path.write_bytes(raw.encode() if isinstance(raw, str) else raw)
        return path


def ses_receipt_event(
    raw: bytes, message_id: str, received: datetime, recipients: list[str] | None = None
) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action delivers for one message."""
    message = email.message_from_bytes(raw, policy=email.policy.default)

    def header(name: str) -> str:
        return str(message.get(name, ""))

    to = [a.strip() for a in header("To").split(",") if a.strip()]
    destination = recipients or to
    timestamp = received.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    verdict = {"status": "PASS"}
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": timestamp,
                        "source": header("Return-Path").strip("<>") or header("From"),
                        "messageId": message_id,
                        "destination": destination,
                        "headersTruncated": False,
                        "headers": [{"name": k, "value": str(v)} for k, v in message.items()],
                        "commonHeaders": {
                            "from": [header("From")],
                            "to": to,
                            "subject": header("Subject"),
                            "messageId": header("Message-ID"),
                            "date": header("Date"),
                        },
                    },
                    "receipt": {
                        "timestamp": timestamp,
                        "processingTimeMillis": 1,
                        "recipients": destination,
                        "spamVerdict": verdict,
                        "virusVerdict": verdict,
                        "spfVerdict": verdict,
                        "dkimVerdict": verdict,
                        "dmarcVerdict": verdict,
                        "action": {
                            "type": "Lambda",
                            "invocationType": "Event",
                            "functionArn": "local:inbound_mail",
                        },
                    },
                },
            }
        ]
    }


def _compose(message: Any) -> str:
    """MIME text for a message sent with SES's formatted (not raw) API."""
    composed = email.message.EmailMessage()
    composed["From"] = message.source
    composed["To"] = ", ".join(message.destinations.get("ToAddresses", []))
    composed["Subject"] = message.subject
    composed.set_content(message.body)
    return composed.as_string()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
