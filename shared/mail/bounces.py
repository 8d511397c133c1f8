"""Bounces and complaints SES reports (through SNS): the contact is marked, the loop is told who
to write to instead, or the account goes to a person when no one is left to write to.

A permanent bounce marks the contact `bounced`, a complaint `complained`; either way the
collections core stops writing to them. A transient bounce is only audited. Each account is
handled once per notification: a guard item keyed by the SNS message id and the account is
written in the same transaction as the contact change and its audit events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.audit.models import SYSTEM_CHAIN, Actor, ActorKind, Entry
from shared.collections.state import mailable
from shared.dynamodb import Transaction, TransactionRefused
from shared.errors import Conflict, InvalidInput
from shared.ledger.models import Account, Contact, ContactStatus
from shared.ledger.service import AccountChanged, Ledger

if TYPE_CHECKING:
    from shared.services import Services

ACTOR = Actor(kind=ActorKind.SYSTEM, id="mail_events")
ATTEMPTS = 3
"""How often an account changed meanwhile (an integrator saving it) is read again and retried."""

BOUNCED = "contact.bounced"
COMPLAINED = "contact.complained"
SOFT_BOUNCED = "contact.soft_bounced"
REPLACED = "contact.replaced"
NONE_LEFT = "contact.none_left"
UNKNOWN_RECIPIENT = "mail.feedback_unmatched"
NO_CONTACT_LEFT = "no contact of the account can be mailed: every one bounced or complained"


class FeedbackKind(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


class MailFeedback(BaseModel):
    """One bounce or complaint notification, as SES describes it."""

    model_config = ConfigDict(frozen=True)

    notification_id: str = Field(min_length=1, max_length=200, description="The SNS MessageId")
    kind: FeedbackKind
    permanent: bool = Field(description="A permanent bounce or a complaint: stop writing to them")
    bounce_type: str | None = None
    feedback_type: str | None = None
    ses_message_id: str = Field(description="The message that bounced or was complained about")
    recipients: list[str] = Field(min_length=1)


class FeedbackStatus(StrEnum):
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"


@dataclass(frozen=True)
class FeedbackOutcome:
    """What one notification did to one account (None: to no account's contact)."""

    notification_id: str
    account_id: str | None
    status: FeedbackStatus
    action: str
    contacts: tuple[str, ...] = ()
    """The contacts it concerned, by id; never their addresses."""
    recipient: str | None = None
    """The contact outreach writes to now, if any is left."""
    no_contact_left: bool = False


def notifications(event: Mapping[str, Any]) -> list[MailFeedback]:
    """Bounces and complaints in an SNS event; other SES events (deliveries, sends) are skipped.

    InvalidInput names what is missing when the event is not an SNS event carrying SES
    notifications.
    """
    try:
        records = _SnsEvent.model_validate(event).records
    except ValidationError as error:
        raise InvalidInput("event", f"not an SNS event: {_first_problem(error)}") from None
    found = []
    for index, record in enumerate(records):
        feedback = _feedback(record.sns.message_id, record.sns.message, index)
        if feedback is not None:
            found.append(feedback)
    return found


class FeedbackDesk:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @classmethod
    def from_services(cls, services: Services) -> FeedbackDesk:
        return cls(services.ledger)

    def record(self, feedback: MailFeedback) -> list[FeedbackOutcome]:
        """Mark the contacts of every account the recipients belong to; once per notification."""
        by_account: dict[str, set[str]] = {}
        unknown = []
        for address in feedback.recipients:
            accounts = self._ledger.store.accounts_by_email(address)
            for account_id in accounts:
                by_account.setdefault(account_id, set()).add(address)
            if not accounts:
                unknown.append(address)
        outcomes = [
            self._account(feedback, account_id, addresses)
            for account_id, addresses in sorted(by_account.items())
        ]
        if unknown:
            outcomes.append(self._unmatched(feedback, unknown))
        return outcomes

    def _account(
        self, feedback: MailFeedback, account_id: str, addresses: set[str]
    ) -> FeedbackOutcome:
        for attempt in range(ATTEMPTS):
            account = self._ledger.store.account(account_id)
            try:
                return self._mark(feedback, account, addresses)
            except (AccountChanged, TransactionRefused) as refused:
                if _guard_label(feedback, account_id) in refused.failed:
                    return _already(feedback, account_id)
                if isinstance(refused, TransactionRefused) or attempt + 1 == ATTEMPTS:
                    raise
            except Conflict:
                # The account moved between reading it and saving it: read it again.
                if attempt + 1 == ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _mark(
        self, feedback: MailFeedback, account: Account, addresses: set[str]
    ) -> FeedbackOutcome:
        concerned = [c for c in account.contacts if c.email in addresses]
        ids = tuple(c.contact_id for c in concerned)
        guard = self._guard(feedback, account.account_id)
        if not feedback.permanent:
            entry = _entry(feedback, account.account_id, SOFT_BOUNCED, ids, "contact kept")
            self._ledger.audit.record([entry], guard)
            return FeedbackOutcome(
                feedback.notification_id, account.account_id, _NEW, SOFT_BOUNCED, ids
            )
        action, status = _marking(feedback)
        to_mark = {c.contact_id for c in concerned if c.status is ContactStatus.ACTIVE}
        if not to_mark:
            entry = _entry(feedback, account.account_id, action, ids, "already not mailed")
            self._ledger.audit.record([entry], guard)
            return FeedbackOutcome(feedback.notification_id, account.account_id, _NEW, action, ids)
        contacts = [
            c.model_copy(update={"status": status}) if c.contact_id in to_mark else c
            for c in account.contacts
        ]
        remaining = mailable(contacts)
        entries = [_entry(feedback, account.account_id, action, ids, status.value)]
        entries.append(_next_step(account, contacts, ids))
        profile = account.profile_with(contacts=contacts)
        self._ledger.update_account(
            account.account_id, profile, account.version, ACTOR, also=entries, changes=guard
        )
        return FeedbackOutcome(
            feedback.notification_id,
            account.account_id,
            _NEW,
            action,
            ids,
            recipient=remaining[0].contact_id if remaining else None,
            no_contact_left=not remaining,
        )

    def _unmatched(self, feedback: MailFeedback, addresses: list[str]) -> FeedbackOutcome:
        """Feedback on an address no account lists (an approver, a removed contact)."""
        entry = Entry(
            chain=SYSTEM_CHAIN,
            actor=ACTOR,
            action=UNKNOWN_RECIPIENT,
            inputs={
                **_facts(feedback),
                "recipients": [masked(address) for address in addresses],
            },
            rationale="no account lists the address among its contacts",
            outcome="recorded for the finance team",
        )
        try:
            self._ledger.audit.record([entry], self._guard(feedback, None))
        except TransactionRefused as refused:
            if _guard_label(feedback, None) not in refused.failed:
                raise
            return _already(feedback, None)
        return FeedbackOutcome(feedback.notification_id, None, _NEW, UNKNOWN_RECIPIENT)

    def _guard(self, feedback: MailFeedback, account_id: str | None) -> Transaction:
        guard = Transaction()
        guard.put(
            self._ledger.store.table,
            {
                "PK": f"MAILFEEDBACK#{feedback.notification_id}",
                "SK": f"ACCOUNT#{account_id}" if account_id else SYSTEM_CHAIN,
                "entity": "mail_feedback_guard",
                "kind": feedback.kind.value,
            },
            describe=_guard_label(feedback, account_id),
            condition="attribute_not_exists(PK)",
        )
        return guard


def masked(address: str) -> str:
    """An address as the trail may show it: the first letter of the mailbox, and the domain."""
    local_part, _, domain = address.partition("@")
    return f"{local_part[:1]}***@{domain}"


_NEW = FeedbackStatus.RECORDED


def _marking(feedback: MailFeedback) -> tuple[str, ContactStatus]:
    if feedback.kind is FeedbackKind.COMPLAINT:
        return COMPLAINED, ContactStatus.COMPLAINED
    return BOUNCED, ContactStatus.BOUNCED


def _next_step(account: Account, contacts: Sequence[Contact], marked: tuple[str, ...]) -> Entry:
    """Who outreach writes to now; or that no one is left."""
    remaining = mailable(contacts)
    if remaining:
        return Entry(
            chain=account.account_id,
            actor=ACTOR,
            action=REPLACED,
            inputs={"replaced": list(marked), "recipient": remaining[0].contact_id},
            rationale=f"contact {', '.join(marked)} can no longer be mailed; "
            f"{remaining[0].contact_id} ({remaining[0].role.value}) is next",
            outcome=remaining[0].contact_id,
        )
    context = {
        "account": f"{account.name} ({account.account_id})",
        "contacts": ", ".join(f"{c.contact_id}: {c.status.value}" for c in contacts) or "none",
        "unmailable": ", ".join(marked),
    }
    # Put to a person by the collections loop, the one place escalations come from, when it
    # next has a reminder to send and nobody to send it to.
    return Entry(
        chain=account.account_id,
        actor=ACTOR,
        action=NONE_LEFT,
        inputs={"context": context},
        rationale=NO_CONTACT_LEFT,
        outcome="put to a person when a reminder is next due",
    )


def _entry(
    feedback: MailFeedback, account_id: str, action: str, contacts: tuple[str, ...], outcome: str
) -> Entry:
    return Entry(
        chain=account_id,
        actor=ACTOR,
        action=action,
        inputs={**_facts(feedback), "contacts": list(contacts)},
        rationale=f"SES reported a {_described(feedback)} for mail to this account",
        outcome=outcome,
    )


def _facts(feedback: MailFeedback) -> dict[str, Any]:
    return {
        "notification_id": feedback.notification_id,
        "ses_message_id": feedback.ses_message_id,
        "kind": feedback.kind.value,
        "bounce_type": feedback.bounce_type,
        "feedback_type": feedback.feedback_type,
    }


def _described(feedback: MailFeedback) -> str:
    if feedback.kind is FeedbackKind.COMPLAINT:
        return "complaint (the recipient marked it as spam)"
    return f"{(feedback.bounce_type or 'undetermined').lower()} bounce"


def _already(feedback: MailFeedback, account_id: str | None) -> FeedbackOutcome:
    return FeedbackOutcome(
        feedback.notification_id, account_id, FeedbackStatus.ALREADY_RECORDED, "none"
    )


def _guard_label(feedback: MailFeedback, account_id: str | None) -> str:
    return f"mail feedback {feedback.notification_id} for {account_id or SYSTEM_CHAIN} is new"


# The SNS event and the SES notification it carries


class _Sns(BaseModel):
    message_id: str = Field(alias="MessageId", min_length=1)
    message: str = Field(alias="Message")


class _Record(BaseModel):
    sns: _Sns = Field(alias="Sns")


class _SnsEvent(BaseModel):
    records: list[_Record] = Field(alias="Records", min_length=1)


class _Recipient(BaseModel):
    email_address: str = Field(alias="emailAddress")


class _Bounce(BaseModel):
    bounce_type: str = Field(alias="bounceType")
    recipients: list[_Recipient] = Field(alias="bouncedRecipients", min_length=1)


class _Complaint(BaseModel):
    recipients: list[_Recipient] = Field(alias="complainedRecipients", min_length=1)
    feedback_type: str | None = Field(default=None, alias="complaintFeedbackType")


class _Mail(BaseModel):
    message_id: str = Field(alias="messageId", min_length=1)


class _Notification(BaseModel):
    """Identity notifications say `notificationType`; configuration-set events `eventType`."""

    notification_type: str | None = Field(default=None, alias="notificationType")
    event_type: str | None = Field(default=None, alias="eventType")
    mail: _Mail
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None

    @property
    def kind(self) -> str:
        return self.notification_type or self.event_type or ""


def _feedback(notification_id: str, message: str, index: int) -> MailFeedback | None:
    where = f"Records[{index}].Sns.Message"
    try:
        notification = _Notification.model_validate(json.loads(message))
    except json.JSONDecodeError:
        raise InvalidInput(where, "is not JSON") from None
    except ValidationError as error:
        raise InvalidInput(where, f"not an SES notification: {_first_problem(error)}") from None
    try:
        return _read(notification_id, notification)
    except ValidationError as error:
        raise InvalidInput(where, f"not an SES notification: {_first_problem(error)}") from None


def _read(notification_id: str, notification: _Notification) -> MailFeedback | None:
    if notification.kind == "Bounce" and notification.bounce is not None:
        bounce = notification.bounce
        return MailFeedback(
            notification_id=notification_id,
            kind=FeedbackKind.BOUNCE,
            permanent=bounce.bounce_type == "Permanent",
            bounce_type=bounce.bounce_type,
            ses_message_id=notification.mail.message_id,
            recipients=_addresses(bounce.recipients),
        )
    if notification.kind == "Complaint" and notification.complaint is not None:
        complaint = notification.complaint
        return MailFeedback(
            notification_id=notification_id,
            kind=FeedbackKind.COMPLAINT,
            permanent=True,
            feedback_type=complaint.feedback_type,
            ses_message_id=notification.mail.message_id,
            recipients=_addresses(complaint.recipients),
        )
    return None


def _addresses(recipients: list[_Recipient]) -> list[str]:
    found = (parseaddr(r.email_address)[1].lower() for r in recipients)
    return list(dict.fromkeys(address for address in found if "@" in address))


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"
