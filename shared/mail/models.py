"""Received mail as autoar keeps it: what arrived, how it was tied to an account, and flags.

The stored record never holds the body: its length is kept, the text stays in the raw message
in the inbox bucket. What the reply was read as (its interpretation: an intent and a few typed
details, never the customer's words) is kept with it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.mail.interpret import Interpretation, ReplyIntent

SUBJECT_LENGTH = 998
"""RFC 5322's line limit; longer subjects are cut there when stored."""

SES_MESSAGE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
"""SES message ids name the stored object, so they may never reach outside the mail prefix."""


class MatchedBy(StrEnum):
    """How a message was tied to an account, strongest first."""

    REPLY_TOKEN = "reply_token"
    THREAD = "thread"
    SENDER = "sender"
    AMBIGUOUS_SENDER = "ambiguous_sender"
    NONE = "none"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Attachment(Frozen):
    filename: str | None = Field(default=None, max_length=255)
    content_type: str
    size: int = Field(ge=0, description="Decoded size in bytes")


class ParsedMail(Frozen):
    """The facts of a MIME message that intake needs; `text` is held in memory only."""

    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    from_address: str
    recipients: list[str] = Field(description="To, Cc and Delivered-To addresses")
    subject: str
    sent_at: datetime | None
    text: str = Field(repr=False)
    attachments: list[Attachment]
    automated: list[str] = Field(description="Why it looks machine-sent; empty for a person")

    @property
    def thread_ids(self) -> list[str]:
        """Message ids this one answers, most direct first: In-Reply-To, then newest reference."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


class Verdicts(Frozen):
    """SES's receipt checks: PASS, FAIL, GRAY, PROCESSING_FAILED or DISABLED."""

    spam: str | None = None
    virus: str | None = None
    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None


class MailArrival(Frozen):
    """What the receipt rule reports about one message before anyone reads it."""

    ses_message_id: str = Field(pattern=SES_MESSAGE_ID)
    recipients: list[str] = Field(description="The envelope recipients the rule accepted")
    verdicts: Verdicts = Verdicts()


class InboundMessage(Frozen):
    """One received message as stored under its account, or under UNMATCHED."""

    ses_message_id: str
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    received_at: datetime
    sent_at: datetime | None
    from_address: str
    recipients: list[str]
    subject: str = Field(max_length=SUBJECT_LENGTH)
    account_id: str | None
    matched_by: MatchedBy
    candidates: list[str] = Field(description="Accounts an ambiguous sender belongs to")
    s3_key: str
    size: int
    text_length: int
    attachments: list[Attachment]
    automated: list[str]
    verdicts: Verdicts
    interpretation: Interpretation | None = Field(
        default=None, description="What the reply asks for; None for mail tied to no account"
    )
    acted: str | None = Field(default=None, description="What the agent did about it")
    acted_on: bool = Field(
        default=False,
        description="Whether its words could move the account: false for mail tied to no "
        "account, machine-sent mail and mail from a sender not authenticated",
    )


class ReceiptStatus(StrEnum):
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"


class MailReceipt(Frozen):
    """What intake did with one arrival, for the handler's response and logs."""

    ses_message_id: str
    status: ReceiptStatus
    account_id: str | None
    matched_by: MatchedBy
    automated: list[str] = Field(default_factory=list)
    attachments: int = 0
    intent: ReplyIntent | None = None
    acted: str | None = None
