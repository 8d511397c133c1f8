"""Taking in a received message: read it, tie it to an account, interpret it, act on it, store
and audit it, once.

A message is tied, in this order, by a reply token in any recipient address, by the thread it
answers (a Message-ID outreach sent), or by its sender being a contact of exactly one account.
What ties to no account is kept under UNMATCHED for the finance team and audited in the system
chain. Machine-sent mail (auto-replies, bounces, loops) is recorded too, flagged as such.

A message tied to an account is interpreted (`shared.mail.interpret`) and answered with what
`shared.cases.replies` allows: a promise recorded, a dispute opened, a plan request or a claim
of payment noted. That is written in the same transaction as the message and its once-only
guard, so a message SES delivers twice is acted on once. Machine-sent mail, and mail failing
DMARC, is interpreted but never acted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shared.audit.log import AuditLog
from shared.audit.models import SYSTEM_CHAIN, Actor, ActorKind, Entry
from shared.cases.replies import ReplyResponse, respond_to_reply
from shared.clock import Clock
from shared.dynamodb import Transaction, TransactionRefused
from shared.ledger.store import LedgerStore
from shared.mail.addresses import account_from_address
from shared.mail.interpret import (
    Interpretation,
    Reply,
    ReplyInterpreter,
    RulesInterpreter,
    checked,
    reply_excerpt,
)
from shared.mail.mime import parse_mime
from shared.mail.models import (
    InboundMessage,
    MailArrival,
    MailReceipt,
    MatchedBy,
    ParsedMail,
    ReceiptStatus,
)
from shared.mail.store import MailStore
from shared.objects import FetchedObject, fetch

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shared.services import Services

MAIL_PREFIX = "inbox/mail/"
"""Where the receipt rule's S3 action stores raw messages; infra.manifest.INBOX.mail_prefix."""

ACTOR = Actor(kind=ActorKind.SYSTEM, id="inbound_mail")
AUDIT_SUBJECT_LENGTH = 200
_FAILING_VERDICT = "FAIL"
_PASSING_VERDICT = "PASS"
_NO_DMARC_POLICY = "GRAY"
_AUTO_REPLY_SIGNS = ("auto-submitted: auto-replied", "auto-reply header", "precedence: auto_reply")


@dataclass(frozen=True)
class Match:
    """The account a message belongs to (None if none), how that was found, and why."""

    account_id: str | None
    matched_by: MatchedBy
    rationale: str
    candidates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reading:
    """What a message tied to an account was read as, and what the agent does about it."""

    interpretation: Interpretation
    response: ReplyResponse
    acted_on: bool = True


class MailIntake:
    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        mail: MailStore,
        ledger: LedgerStore,
        audit: AuditLog,
        clock: Clock,
        interpreter: ReplyInterpreter | None = None,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._mail = mail
        self._ledger = ledger
        self._audit = audit
        self._clock = clock
        self._interpreter = interpreter or RulesInterpreter()

    @classmethod
    def from_services(
        cls, services: Services, interpreter: ReplyInterpreter | None = None
    ) -> MailIntake:
        mail = MailStore(services.dynamodb, services.settings.ledger_table)
        return cls(
            services.s3,
            services.settings.inbox_bucket,
            mail,
            services.ledger.store,
            services.audit,
            services.clock,
            interpreter,
        )

    def receive(self, arrival: MailArrival) -> MailReceipt:
        """Record one arrival; a message recorded before is reported, not recorded again.

        Raises NotFound when the raw message is not in the bucket and UnreadableMail when it is
        not a readable message; nothing is written in either case.
        """
        earlier = self._mail.receipt(arrival.ses_message_id)
        if earlier is not None:
            return earlier
        key = MAIL_PREFIX + arrival.ses_message_id
        raw = fetch(self._s3, self._bucket, key)
        parsed = parse_mime(raw.content, key)
        match = self.match(arrival, parsed)
        now = self._clock.now()
        flags = [*parsed.automated, *_arrival_signs(arrival, parsed)]
        reading = self._read(arrival, parsed, match, flags, now)
        message = _inbound_message(arrival, parsed, match, raw, now, flags, reading)
        return self._record(message, match, reading)

    def match(self, arrival: MailArrival, parsed: ParsedMail) -> Match:
        """Tie a message to an account: reply token, then thread, then a known sender."""
        return (
            self._by_reply_token([*arrival.recipients, *parsed.recipients])
            or self._by_thread(parsed.thread_ids)
            or self._by_sender(parsed.from_address)
        )

    def _by_reply_token(self, recipients: list[str]) -> Match | None:
        named = [account_from_address(address) for address in recipients]
        wanted = list(dict.fromkeys(account for account in named if account))
        existing = self._ledger.accounts(wanted) if wanted else {}
        account_id = next((account for account in wanted if account in existing), None)
        if account_id is None:
            return None
        rationale = f"a recipient address carries the reply token of account {account_id}"
        return Match(account_id, MatchedBy.REPLY_TOKEN, rationale)

    def _by_thread(self, message_ids: list[str]) -> Match | None:
        account_id = self._mail.account_for_thread(message_ids) if message_ids else None
        if account_id is None or not self._ledger.accounts([account_id]):
            return None
        rationale = f"it answers a message autoar sent for account {account_id}"
        return Match(account_id, MatchedBy.THREAD, rationale)

    def _by_sender(self, sender: str) -> Match:
        accounts = sorted(set(self._ledger.accounts_by_email(sender)))
        if len(accounts) == 1:
            rationale = f"the sender is a contact of account {accounts[0]} and of no other"
            return Match(accounts[0], MatchedBy.SENDER, rationale)
        if accounts:
            rationale = (
                f"the sender is a contact of {len(accounts)} accounts; "
                "left unmatched for the finance team to assign"
            )
            return Match(None, MatchedBy.AMBIGUOUS_SENDER, rationale, accounts)
        rationale = (
            "no reply token, no thread autoar sent, and the sender is no account's contact; "
            "left unmatched for the finance team"
        )
        return Match(None, MatchedBy.NONE, rationale)

    def _read(
        self,
        arrival: MailArrival,
        parsed: ParsedMail,
        match: Match,
        flags: list[str],
        now: datetime,
    ) -> Reading | None:
        """Interpret a message tied to an account and decide what follows; None when untied."""
        if match.account_id is None:
            return None
        records = self._ledger.records(match.account_id)
        reply = Reply(
            subject=parsed.subject,
            text=parsed.text,
            received_on=now.date(),
            invoice_numbers=[invoice.number for invoice in records.invoices],
            currency=records.account.currency,
            automated=any(flag.startswith(_AUTO_REPLY_SIGNS) for flag in flags),
        )
        interpretation = checked(self._interpreter.interpret(reply), reply)
        withheld = _not_to_act_on(arrival, flags)
        if withheld is not None:
            return Reading(
                interpretation, ReplyResponse(f"not acted on: {withheld}"), acted_on=False
            )
        excerpt = reply_excerpt(parsed.text)
        response = respond_to_reply(records, interpretation, arrival.ses_message_id, excerpt, now)
        return Reading(interpretation, response)

    def _record(
        self, message: InboundMessage, match: Match, reading: Reading | None
    ) -> MailReceipt:
        changes = Transaction()
        self._mail.stage_inbound(changes, message)
        if message.account_id is not None:
            self._ledger.stage_review(changes, message.account_id, message.received_at)
        entries = [_entry(message, match, reading)]
        if reading is not None:
            for case in reading.response.cases:
                self._ledger.stage_new_record(changes, case)
            entries += reading.response.entries
        try:
            self._audit.record(entries, changes)
        except TransactionRefused as refused:
            if MailStore.guard_label(message.ses_message_id) not in refused.failed:
                raise
            return self._mail.receipt(message.ses_message_id) or _receipt(
                message, ReceiptStatus.ALREADY_RECORDED
            )
        return _receipt(message, ReceiptStatus.RECORDED)


def _inbound_message(
    arrival: MailArrival,
    parsed: ParsedMail,
    match: Match,
    raw: FetchedObject,
    now: datetime,
    flags: list[str],
    reading: Reading | None,
) -> InboundMessage:
    return InboundMessage(
        ses_message_id=arrival.ses_message_id,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        received_at=now,
        sent_at=parsed.sent_at,
        from_address=parsed.from_address,
        recipients=arrival.recipients,
        subject=parsed.subject,
        account_id=match.account_id,
        matched_by=match.matched_by,
        candidates=match.candidates,
        s3_key=raw.key,
        size=raw.size,
        text_length=len(parsed.text),
        attachments=parsed.attachments,
        automated=flags,
        verdicts=arrival.verdicts,
        interpretation=reading.interpretation if reading else None,
        acted=reading.response.outcome if reading else None,
        acted_on=reading.acted_on if reading else False,
    )


def _entry(message: InboundMessage, match: Match, reading: Reading | None) -> Entry:
    inputs: dict[str, object] = {
        "message_id": message.ses_message_id,
        "header_message_id": message.message_id,
        "matched_by": message.matched_by,
        "subject": message.subject[:AUDIT_SUBJECT_LENGTH],
        "attachments": len(message.attachments),
        "automated": message.automated,
    }
    if match.candidates:
        inputs["candidates"] = match.candidates
    model = None
    if reading is not None:
        read = reading.interpretation
        inputs["intent"] = read.intent.value
        inputs["interpretation"] = read.model_dump(mode="json", exclude_none=True)
        inputs["acted"] = reading.response.outcome
        model = {"name": read.interpreter}
    return Entry(
        chain=message.account_id or SYSTEM_CHAIN,
        actor=ACTOR,
        action="mail.received",
        inputs=inputs,
        rationale=match.rationale,
        outcome="flagged as automated" if message.automated else "recorded",
        model=model,
    )


def _receipt(message: InboundMessage, status: ReceiptStatus) -> MailReceipt:
    return MailReceipt(
        ses_message_id=message.ses_message_id,
        status=status,
        account_id=message.account_id,
        matched_by=message.matched_by,
        automated=message.automated,
        attachments=len(message.attachments),
        intent=message.interpretation.intent if message.interpretation else None,
        acted=message.acted,
    )


def _not_to_act_on(arrival: MailArrival, flags: list[str]) -> str | None:
    """Why a message's words must not move the account, or None when they may.

    Machine-sent mail says nothing a customer decided. Words that open a dispute stop
    collections, so they are taken only from a sender shown to be who the From header says:
    by DMARC, or, where the sender's domain publishes no DMARC policy, by SPF and DKIM both.
    """
    if flags:
        return "machine-sent (" + ", ".join(flags) + ")"
    verdicts = arrival.verdicts
    if verdicts.dmarc == _PASSING_VERDICT:
        return None
    if verdicts.dmarc == _FAILING_VERDICT:
        return "the sender failed DMARC"
    if verdicts.dmarc == _NO_DMARC_POLICY and verdicts.spf == verdicts.dkim == _PASSING_VERDICT:
        return None
    return (
        f"the sender is not authenticated (DMARC {verdicts.dmarc or 'none'}, "
        f"SPF {verdicts.spf or 'none'}, DKIM {verdicts.dkim or 'none'})"
    )


def _arrival_signs(arrival: MailArrival, parsed: ParsedMail) -> list[str]:
    """Signs only the receipt shows: failed spam or virus checks, and mail from our own mailbox."""
    signs = []
    if arrival.verdicts.spam == _FAILING_VERDICT:
        signs.append("spam verdict: FAIL")
    if arrival.verdicts.virus == _FAILING_VERDICT:
        signs.append("virus verdict: FAIL")
    if _mailbox(parsed.from_address) in {_mailbox(r) for r in arrival.recipients}:
        signs.append("loop: sent from an address of this mailbox")
    return signs


def _mailbox(address: str) -> str:
    """An address without its +tag: ar+abc.def@x.example and ar@x.example are one mailbox."""
    local_part, _, domain = address.lower().rpartition("@")
    return f"{local_part.partition('+')[0]}@{domain}"
