"""Sending a decision's email exactly once, through SES `send_raw_email` as approval mail does.

The email is recorded before anything is sent: its outbox record (keyed by the decision id, on
condition it is new), the touch the cadence counts, the Message-ID replies thread back on, and
the decision's audit event, all in one transaction. Only then is it handed to SES, by an attempt
that first moves the record from `queued` (or `failed`) to `sending`, so two deliveries of the
same message can never both send it. SES accepting settles it as `sent`; SES refusing marks it
`failed` and raises, and the retry finds it unsent and sends it.

One case cannot be told apart: an attempt that died while SES had the email. A later attempt
that finds it still `sending` after `ATTEMPT_LEASE` settles it as `unknown` and does not send it
again, choosing a possibly missed reminder (the cadence goes on) over a duplicate one.
"""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from shared.audit.log import AuditLog
from shared.audit.models import Actor, ActorKind, Entry
from shared.clock import Clock
from shared.collections.candidates import Outreach
from shared.collections.outreach import compose, touch_for
from shared.collections.policy import CollectionsPolicy
from shared.collections.state import AccountState
from shared.dynamodb import Transaction, TransactionRefused
from shared.errors import AutoarError, Conflict, InvalidInput, NotFound
from shared.ledger import keys
from shared.ledger.models import Touch
from shared.ledger.store import LedgerStore
from shared.mail.addresses import MAILBOX, reply_address
from shared.mail.store import MailStore, sent_message_key
from shared.objects import fetch
from shared.outreach.mime import Attachment, compose_mime, sender_header
from shared.outreach.models import Document, OutboxEmail, OutboxStatus
from shared.outreach.settings import OutreachSettings
from shared.outreach.store import OutboxStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient

    from shared.services import Services

ACTOR = Actor(kind=ActorKind.SYSTEM, id="outreach")
ATTEMPT_LEASE = timedelta(minutes=5)
"""Longer than the decide function's timeout: an attempt still `sending` after this has died."""
MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024
"""What the PDFs of one email may add up to; base64 makes it 9.3 MB, under SES's 10 MB."""

logger = Logger(child=True)


class SendRefused(AutoarError):
    """SES did not accept the email; it stays unsent and the next attempt sends it."""

    def __init__(self, decision_id: str, code: str) -> None:
        super().__init__(f"email {decision_id} was refused by SES ({code}); it will be retried")
        self.decision_id = decision_id
        self.code = code


class SendInProgress(Conflict):
    """Another attempt holds the email; it is left to that attempt, and looked at again later."""


@dataclass(frozen=True)
class Delivery:
    decision_id: str
    status: OutboxStatus
    ses_message_id: str | None = None
    attached: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """Invoices whose PDF could not be attached (not stored, unreadable, or too large)."""


class Outbox:
    def __init__(
        self,
        ses: SESClient,
        s3: S3Client,
        bucket: str,
        store: OutboxStore,
        mail: MailStore,
        ledger: LedgerStore,
        audit: AuditLog,
        clock: Clock,
        settings: OutreachSettings,
    ) -> None:
        self._ses = ses
        self._s3 = s3
        self._bucket = bucket
        self.store = store
        self._mail = mail
        self._ledger = ledger
        self._audit = audit
        self._clock = clock
        self._settings = settings

    @classmethod
    def from_services(cls, services: Services, settings: OutreachSettings) -> Outbox:
        table = services.settings.ledger_table
        return cls(
            boto3.client("ses"),
            services.s3,
            services.settings.inbox_bucket,
            OutboxStore(services.dynamodb, table),
            MailStore(services.dynamodb, table),
            services.ledger.store,
            services.audit,
            services.clock,
            settings,
        )

    def draft(
        self, state: AccountState, email: Outreach, decision_id: str, rules: CollectionsPolicy
    ) -> tuple[OutboxEmail, Touch]:
        """The email a decision chose, rendered for its contact, and the touch that records it."""
        contact, rendered = compose(state, email, rules, self._settings.sender_name)
        now = self._clock.now()
        message_id = f"<{uuid.uuid4()}@{self._settings.mail_domain}>"
        touch = touch_for(email, decision_id, now, state.account_id, message_id, decision_id)
        listed = {i.number: i.invoice for i in state.invoices}
        documents = [
            Document(invoice_number=number, key=document_key)
            for number in email.invoice_numbers
            if (document_key := listed[number].document_key)
        ]
        queued = OutboxEmail(
            decision_id=decision_id,
            account_id=state.account_id,
            contact_id=contact.contact_id,
            template=email.template,
            language=rendered.language,
            invoice_numbers=list(email.invoice_numbers),
            sender=sender_header(self._settings.sender_name, self._settings.sender_address),
            sender_address=self._settings.sender_address,
            recipient=contact.email,
            recipient_name=contact.name,
            reply_to=self._reply_to(state.account_id),
            message_id=message_id,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            documents=documents,
            queued_at=now,
            send_by=window_closes(now, contact.time_zone, rules),
            touch_id=touch.touch_id,
            touch_key=f"{keys.TOUCH_PREFIX}{touch.sent_at.isoformat()}#{touch.touch_id}",
        )
        return queued, touch

    def stage_queued(self, transaction: Transaction, queued: OutboxEmail, touch: Touch) -> None:
        """Record the email with its touch and its Message-ID, on condition it is new."""
        self.store.stage_new(transaction, queued)
        self._ledger.stage_new_record(transaction, touch)
        self._mail.stage_sent_message(
            transaction, queued.message_id, queued.account_id, queued.queued_at, touch.touch_id
        )

    def deliver(self, decision_id: str) -> Delivery:
        """Send a recorded email unless it is settled; what became of it.

        Raises SendRefused when SES refuses it, and SendInProgress while another attempt has it.
        """
        queued = self.store.get(decision_id)
        now = self._clock.now()
        if queued.status.settled:
            return Delivery(decision_id, queued.status, queued.ses_message_id)
        if queued.status is OutboxStatus.SENDING:
            started = queued.attempt_started_at or queued.queued_at
            if now < started + ATTEMPT_LEASE:
                raise SendInProgress(f"email {decision_id} is being sent by another attempt")
            return self._give_up(queued, started)
        if now >= queued.send_by:
            return self._withdraw(queued)
        return self._send(self._start_attempt(queued, now))

    def _send(self, attempt: OutboxEmail) -> Delivery:
        attachments, missing = self._attachments(attempt)
        message = compose_mime(attempt, attachments)
        try:
            response = self._ses.send_raw_email(
                Source=attempt.sender_address,
                Destinations=[attempt.recipient],
                RawMessage={"Data": message.as_bytes()},
                ConfigurationSetName=self._settings.configuration_set,
            )
        except (ClientError, BotoCoreError) as error:
            code = _error_code(error)
            self._settle(attempt, OutboxStatus.FAILED, "email.refused", f"refused: {code}", code)
            raise SendRefused(attempt.decision_id, code) from None
        ses_message_id = response["MessageId"]
        attached = tuple(a.filename for a in attachments)
        sent = self._settle(
            attempt,
            OutboxStatus.SENT,
            "email.sent",
            "sent",
            ses_message_id=ses_message_id,
            attached=list(attached),
            attachments_missing=list(missing),
        )
        return Delivery(sent.decision_id, sent.status, ses_message_id, attached, missing)

    def _start_attempt(self, queued: OutboxEmail, now: datetime) -> OutboxEmail:
        attempt = _next_version(
            queued,
            status=OutboxStatus.SENDING,
            attempts=queued.attempts + 1,
            attempt_started_at=now,
        )
        changes = Transaction()
        self.store.stage_change(changes, attempt, queued.version)
        try:
            self.store.commit(changes)
        except TransactionRefused:
            taken = f"email {queued.decision_id} was taken by another attempt"
            raise SendInProgress(taken) from None
        return attempt

    def _settle(
        self,
        attempt: OutboxEmail,
        status: OutboxStatus,
        event: str,
        outcome: str,
        error: str | None = None,
        ses_message_id: str | None = None,
        **details: Any,
    ) -> OutboxEmail:
        now = self._clock.now()
        settled = _next_version(
            attempt,
            status=status,
            error=error,
            ses_message_id=ses_message_id,
            sent_at=now if status is OutboxStatus.SENT else None,
        )
        changes = Transaction()
        self.store.stage_change(changes, settled, attempt.version)
        if ses_message_id is not None:
            # SES replaces the Message-ID it was given with its own; replies quote that one.
            thread_id = ses_message_header(ses_message_id, self._ses.meta.region_name)
            self._mail.stage_sent_message(
                changes, thread_id, attempt.account_id, now, attempt.touch_id
            )
        if error is not None:
            details["error"] = error
        entry = _entry(attempt, event, outcome, attempt=attempt.attempts, **details)
        self._audit.record([entry], changes)
        return settled

    def _withdraw(self, queued: OutboxEmail) -> Delivery:
        """The send window closed before the email could go: take back its touch and thread
        record and put the account up for review, so the next decision writes afresh."""
        withdrawn = _next_version(queued, status=OutboxStatus.WITHDRAWN)
        changes = Transaction()
        self.store.stage_change(changes, withdrawn, queued.version)
        changes.delete(
            self._ledger.table,
            keys.key(queued.account_id, queued.touch_key),
            describe=f"touch {queued.touch_id} of an email never sent",
        )
        changes.delete(
            self._ledger.table,
            sent_message_key(queued.message_id),
            describe=f"thread record of email {queued.decision_id}",
        )
        self._ledger.stage_review(changes, queued.account_id, self._clock.now())
        reason = f"the contact's send window closed at {queued.send_by:%Y-%m-%d %H:%M} UTC"
        entry = _entry(queued, "email.withdrawn", "withdrawn", reason=reason)
        self._audit.record([entry], changes)
        logger.warning("email withdrawn", decision_id=queued.decision_id, reason=reason)
        return Delivery(queued.decision_id, OutboxStatus.WITHDRAWN)

    def _give_up(self, queued: OutboxEmail, started: datetime) -> Delivery:
        unknown = _next_version(queued, status=OutboxStatus.UNKNOWN)
        changes = Transaction()
        self.store.stage_change(changes, unknown, queued.version)
        reason = (
            f"the attempt started at {started.isoformat()} never reported back; SES may have "
            "sent it, so it is not sent again"
        )
        entry = _entry(queued, "email.outcome_unknown", "unknown", reason=reason)
        self._audit.record([entry], changes)
        logger.warning("email outcome unknown", decision_id=queued.decision_id)
        return Delivery(queued.decision_id, OutboxStatus.UNKNOWN)

    def _attachments(self, email: OutboxEmail) -> tuple[list[Attachment], tuple[str, ...]]:
        attachments: list[Attachment] = []
        missing: list[str] = []
        room = MAX_ATTACHMENT_BYTES
        for document in email.documents:
            try:
                stored = fetch(self._s3, self._bucket, document.key)
            except (NotFound, ClientError, BotoCoreError) as unreadable:
                # The reminder matters more than its PDF: it goes without it, and the audit
                # event of the send names what could not be attached.
                logger.warning(
                    "invoice document not attached",
                    invoice_number=document.invoice_number,
                    error=type(unreadable).__name__,
                )
                missing.append(document.invoice_number)
                continue
            if stored.size > room:
                logger.warning("invoice document too large", invoice_number=document.invoice_number)
                missing.append(document.invoice_number)
                continue
            room -= stored.size
            filename = PurePosixPath(document.key).name or f"{document.invoice_number}.pdf"
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            attachments.append(Attachment(filename, content_type, stored.content))
        return attachments, tuple(missing)

    def _reply_to(self, account_id: str) -> str:
        try:
            return reply_address(account_id, self._settings.mail_domain)
        except InvalidInput:
            # Too long an id for a token: replies still find the account by thread or sender.
            return f"{MAILBOX}@{self._settings.mail_domain}"


def window_closes(now: datetime, time_zone: str, rules: CollectionsPolicy) -> datetime:
    """When the send window the email goes out in closes, in the contact's own day."""
    zone = ZoneInfo(time_zone)
    local_day = now.astimezone(zone).date()
    return datetime.combine(local_day, rules.send_window.end, tzinfo=zone).astimezone(UTC)


def ses_message_header(ses_message_id: str, region: str) -> str:
    """The Message-ID header SES gives a message it sends, as recipients see and quote it."""
    domain = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_message_id}@{domain}>"


def _next_version(email: OutboxEmail, **changes: Any) -> OutboxEmail:
    return email.model_copy(update={**changes, "version": email.version + 1})


def _entry(email: OutboxEmail, event: str, outcome: str, **details: Any) -> Entry:
    inputs: dict[str, Any] = {
        "decision_id": email.decision_id,
        "message_id": email.message_id,
        "contact_id": email.contact_id,
        "template": email.template,
        "language": email.language,
        "invoice_numbers": email.invoice_numbers,
        **details,
    }
    return Entry(chain=email.account_id, actor=ACTOR, action=event, inputs=inputs, outcome=outcome)


def _error_code(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__
