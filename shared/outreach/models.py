"""An email on its way out: recorded before it is sent, then settled once, whatever happens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class OutboxStatus(StrEnum):
    """Where an email stands. Only `queued` and `failed` may be handed to SES; `sending` is held
    by the one attempt that moved it there, and the last three never change again."""

    QUEUED = "queued"
    """Recorded with its touch in the decision's transaction; not yet handed to SES."""
    SENDING = "sending"
    """Handed to SES by an attempt that has not reported back yet."""
    FAILED = "failed"
    """SES refused the last attempt; the next attempt sends it."""
    SENT = "sent"
    WITHDRAWN = "withdrawn"
    """The contact's send window closed before it could go; its touch was removed."""
    UNKNOWN = "unknown"
    """An attempt died while SES had the email; it may have gone, so it never goes again."""

    @property
    def settled(self) -> bool:
        return self in {OutboxStatus.SENT, OutboxStatus.WITHDRAWN, OutboxStatus.UNKNOWN}


class Document(BaseModel):
    """An invoice's PDF to attach, as stored in the inbox bucket."""

    model_config = ConfigDict(frozen=True)

    invoice_number: str
    key: str


class OutboxEmail(BaseModel):
    """One email a decision chose, complete enough to be sent (again) without re-deciding.

    Keyed by the decision id: a decision can record one email, and only once.
    """

    model_config = ConfigDict(extra="forbid")

    decision_id: str
    account_id: str
    contact_id: str
    template: str
    language: str
    invoice_numbers: list[str]
    sender: str = Field(description="The From header: the sender's name and address")
    sender_address: str
    recipient: str = Field(repr=False, description="The contact's address; never logged")
    recipient_name: str = Field(repr=False)
    reply_to: str
    message_id: str
    subject: str
    text: str = Field(repr=False)
    html: str = Field(repr=False)
    documents: list[Document] = Field(default_factory=list)
    queued_at: datetime
    send_by: datetime = Field(description="When the contact's send window closes")
    touch_id: str
    touch_key: str = Field(description="The sort key of the touch recorded with it")
    status: OutboxStatus = OutboxStatus.QUEUED
    attempts: int = 0
    attempt_started_at: datetime | None = None
    ses_message_id: str | None = None
    sent_at: datetime | None = None
    error: str | None = None
    version: int = 1
