"""The demo company's ERP and mail users, talking to autoar the way real ones would."""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any


class ApiError(RuntimeError):
    pass


class ErpClient:
    """Posts to the integrator API over HTTP, as an ERP integration would."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def get(self, path: str) -> Any:
        return self._call("GET", path, None)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise ApiError(f"{method} {path} answered {error.code}: {detail}") from None


def send_reply(
    smtp_host: str,
    smtp_port: int,
    sender: str,
    to: str,
    subject: str,
    body: str,
    sent_at: datetime,
) -> None:
    """A customer's email, delivered over SMTP to the local listener."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    message.set_content(body)
    with smtplib.SMTP(smtp_host, smtp_port, timeout=30) as smtp:
        smtp.send_message(message)
