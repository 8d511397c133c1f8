"""The email that asks an approver to decide: what is proposed, why, under which rule, by when,
and the signed link to the page where they decide.

Everything in it that came from a customer or the agent (account name, reasons, evidence) is
text: escaped in the HTML part, never markup. The task token never appears in it; the link
carries the opaque approval id, the approver, the deadline and a signature over the three.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.actions.models import Action, PaymentPlan, WriteOff
from shared.approvals import keys, links
from shared.approvals.models import ApprovalRequest
from shared.approvals.store import ApprovalStore
from shared.audit.log import AuditLog
from shared.audit.models import Actor, ActorKind, Entry
from shared.clock import Clock
from shared.dynamodb import Transaction, TransactionRefused

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

    from shared.approvals.settings import ApprovalMailSettings
    from shared.services import Services

ACTOR = Actor(kind=ActorKind.SYSTEM, id="approval_request")
SUBJECT_LENGTH = 160


class ApprovalMailer:
    def __init__(
        self,
        ses: SESClient,
        sender: str,
        base_url: str,
        signing_key: Callable[[], bytes],
        store: ApprovalStore,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._ses = ses
        self._sender = sender
        self._base_url = base_url
        self._signing_key = signing_key
        self._store = store
        self._audit = audit
        self._clock = clock

    @classmethod
    def from_services(cls, services: Services, settings: ApprovalMailSettings) -> ApprovalMailer:
        secrets = boto3.client("secretsmanager")
        return cls(
            boto3.client("ses"),
            settings.sender_address,
            settings.base_url,
            lambda: keys.signing_key(secrets, settings.signing_secret_arn),
            ApprovalStore(services.dynamodb, services.settings.ledger_table),
            services.audit,
            services.clock,
        )

    def ask(self, approval: ApprovalRequest) -> str | None:
        """Email the approver asked now, once per step; the Message-ID, or None if already sent.

        The step's marker and its audit event are written before sending, so a redelivered
        task finds them and sends nothing. If sending fails both are withdrawn and the error
        raised, so a retry of the task sends it.
        """
        if approval.expires_at is None:
            raise ValueError("an approver is asked only once the step has a deadline")
        link = links.SignedLink(
            approval.approval_id,
            approval.current_approver,
            int(approval.expires_at.timestamp()),
        )
        message = compose_ask(
            approval,
            links.url(self._base_url, link, self._signing_key()),
            self._sender,
            self._clock.now(),
        )
        message_id = str(message["Message-ID"])
        if not self._claim(approval, message_id):
            return None
        try:
            self._ses.send_raw_email(
                Source=self._sender,
                Destinations=[approval.current_approver],
                RawMessage={"Data": message.as_bytes()},
            )
        except (ClientError, BotoCoreError) as error:
            self._withdraw(approval, message_id, type(error).__name__)
            raise
        return message_id

    def _claim(self, approval: ApprovalRequest, message_id: str) -> bool:
        changes = Transaction()
        self._store.stage_asked(changes, approval, message_id, self._clock.now())
        entry = Entry(
            chain=approval.account_id,
            actor=ACTOR,
            action="approval.asked",
            inputs={
                "approval_id": approval.approval_id,
                "step": approval.step,
                "approver": approval.current_approver,
                "deadline": approval.expires_at,
                "message_id": message_id,
            },
            policy_version=approval.policy_version,
            outcome="asked",
        )
        try:
            self._audit.record([entry], changes)
        except TransactionRefused:
            return False
        return True

    def _withdraw(self, approval: ApprovalRequest, message_id: str, error: str) -> None:
        changes = Transaction()
        self._store.stage_ask_withdrawn(changes, approval)
        entry = Entry(
            chain=approval.account_id,
            actor=ACTOR,
            action="approval.ask_failed",
            inputs={
                "approval_id": approval.approval_id,
                "step": approval.step,
                "message_id": message_id,
                "error": error,
            },
            policy_version=approval.policy_version,
            outcome="not sent",
        )
        self._audit.record([entry], changes)


def compose_ask(approval: ApprovalRequest, link: str, sender: str, now: datetime) -> EmailMessage:
    """The ask as a multipart message: a text part and the same content as HTML."""
    facts = _facts(approval)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = approval.current_approver
    message["Subject"] = _one_line(f"Approval needed: {describe(approval.action)}")[:SUBJECT_LENGTH]
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = make_msgid("approval", domain=sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_text(approval, facts, link))
    message.add_alternative(_html(approval, facts, link), subtype="html")
    return message


def describe(action: Action) -> str:
    """The action in one line, as an approver reads it."""
    amount = money(action.amount, action.currency)
    if isinstance(action, WriteOff):
        return (
            f"write off {amount} on invoice {action.invoice_number} of account {action.account_id}"
        )
    invoices = ", ".join(action.covered_invoices)
    if isinstance(action, PaymentPlan):
        first = action.instalments[0].due_date
        return (
            f"payment plan of {amount} in {len(action.instalments)} instalments from {first} "
            f"on invoices {invoices} of account {action.account_id}"
        )
    return (
        f"hand {amount} on invoices {invoices} of account {action.account_id} "
        "to a collection agency"
    )


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,} {currency}"


def deadline_text(approval: ApprovalRequest) -> str:
    if approval.expires_at is None:
        return "no deadline set"
    return approval.expires_at.astimezone(UTC).strftime("%A %d %B %Y, %H:%M UTC")


def _facts(approval: ApprovalRequest) -> list[tuple[str, str]]:
    action = approval.action
    facts = [
        ("Proposed", describe(action)),
        ("Account", f"{approval.account_name} ({approval.account_id})"),
        ("Amount", money(action.amount, action.currency)),
        ("Reason given", action.reason),
        (
            "Why it needs you",
            f'policy rule "{approval.policy_rule}" (policy version {approval.policy_version})',
        ),
        ("Decide by", deadline_text(approval)),
    ]
    if approval.step > 0:
        facts.append(("Asked because", "the approver before you did not decide in time"))
    return facts


def _text(approval: ApprovalRequest, facts: list[tuple[str, str]], link: str) -> str:
    lines = ["autoar proposes an action that its policy reserves for a person.", ""]
    lines += [f"{label}: {value}" for label, value in facts]
    lines += ["", "The agent's rationale:", _indent(approval.rationale)]
    if approval.evidence:
        lines += ["", "Evidence:"]
        for item in approval.evidence:
            lines += [f"- {item.label}:", _indent(item.detail)]
    lines += [
        "",
        "Review and decide:",
        link,
        "",
        "The link opens the request; nothing is decided until you choose on that page.",
        "If you do not decide by the deadline, the request goes to the next approver or lapses.",
    ]
    return "\n".join(lines) + "\n"


def _html(approval: ApprovalRequest, facts: list[tuple[str, str]], link: str) -> str:
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in facts
    )
    evidence = "".join(
        f"<li><strong>{html.escape(item.label)}</strong>"
        f"<pre style='white-space:pre-wrap'>{html.escape(item.detail)}</pre></li>"
        for item in approval.evidence
    )
    parts = [
        "<!doctype html><html><body>",
        "<p>autoar proposes an action that its policy reserves for a person.</p>",
        f"<table>{rows}</table>",
        "<h3>The agent's rationale</h3>",
        f"<p style='white-space:pre-wrap'>{html.escape(approval.rationale)}</p>",
        f"<h3>Evidence</h3><ul>{evidence}</ul>" if evidence else "",
        f"<p><a href='{html.escape(link, quote=True)}'>Review and decide</a></p>",
        "<p>The link opens the request; nothing is decided until you choose on that page. If "
        "you do not decide by the deadline, the request goes to the next approver or lapses.</p>",
        "</body></html>",
    ]
    return "".join(parts)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in (text or "(none given)").splitlines())
