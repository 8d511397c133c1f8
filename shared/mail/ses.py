"""The event an SES receipt rule's Lambda action delivers, read into mail arrivals.

The event carries headers and verdicts but never the body: the rule's S3 action has already
stored the raw message under the mail prefix, named by the SES message id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from shared.errors import InvalidInput
from shared.mail.models import MailArrival, Verdicts


def arrivals(event: Mapping[str, Any]) -> list[MailArrival]:
    """One arrival per record of an SES receipt event; InvalidInput names what is missing."""
    try:
        notice = _Event.model_validate(event)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        reason = f"not an SES receipt event: {where}: {problem['msg']}"
        raise InvalidInput("event", reason) from None
    return [record.ses.arrival() for record in notice.records]


class _Verdict(BaseModel):
    status: str | None = None


class _Mail(BaseModel):
    message_id: str = Field(alias="messageId")


class _Receipt(BaseModel):
    recipients: list[str] = Field(default_factory=list)
    spam: _Verdict = Field(default_factory=_Verdict, alias="spamVerdict")
    virus: _Verdict = Field(default_factory=_Verdict, alias="virusVerdict")
    spf: _Verdict = Field(default_factory=_Verdict, alias="spfVerdict")
    dkim: _Verdict = Field(default_factory=_Verdict, alias="dkimVerdict")
    dmarc: _Verdict = Field(default_factory=_Verdict, alias="dmarcVerdict")


class _Ses(BaseModel):
    mail: _Mail
    receipt: _Receipt = Field(default_factory=_Receipt)

    def arrival(self) -> MailArrival:
        verdicts = Verdicts(
            spam=self.receipt.spam.status,
            virus=self.receipt.virus.status,
            spf=self.receipt.spf.status,
            dkim=self.receipt.dkim.status,
            dmarc=self.receipt.dmarc.status,
        )
        try:
            return MailArrival(
                ses_message_id=self.mail.message_id,
                recipients=[r.lower() for r in self.receipt.recipients],
                verdicts=verdicts,
            )
        except ValidationError:
            raise InvalidInput("ses.mail.messageId", "is not an SES message id") from None


class _Record(BaseModel):
    event_source: str = Field(alias="eventSource", pattern=r"^aws:ses$")
    ses: _Ses


class _Event(BaseModel):
    records: list[_Record] = Field(alias="Records", min_length=1)
