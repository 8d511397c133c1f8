"""inbound_mail on moto: a received message is stored once, tied to its account and audited."""

from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from events import load
from functions.inbound_mail.handler import lambda_handler
from shared.audit.models import SYSTEM_CHAIN
from shared.dynamodb import Transaction, commit, scan_all
from shared.errors import NotFound
from shared.mail.addresses import reply_address
from shared.mail.errors import UnreadableMail
from shared.mail.inbound import MAIL_PREFIX
from shared.mail.store import MailStore
from tests.factories import profile

AR_ADDRESS = "ar@billing.example.com"
NO_METRICS_ON_FAILURE = pytest.mark.filterwarnings("ignore:No application metrics to publish")
BODY = "We will pay INV-1001 on Friday from account DE00 9999 0000."


@dataclass
class FakeContext:
    function_name: str = "inbound_mail"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:inbound_mail"
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"


@pytest.fixture
def acme(services, integrator):
    services.ledger.create_account("ACME", profile(), integrator)
    return services.ledger.store.account("ACME")


@pytest.fixture
def mail_store(services):
    return MailStore(services.dynamodb, services.settings.ledger_table)


def message(sender: str = "Dana Payables <ap@customer.example>", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = headers.pop("To", AR_ADDRESS)
    mail["Subject"] = headers.pop("Subject", "Re: Invoice INV-1001 is overdue")
    mail["Message-ID"] = "<20260302085941.4471@mail.customer.example>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(BODY)
    mail.add_attachment(
        b"%PDF-1.7 advice", maintype="application", subtype="pdf", filename="advice.pdf"
    )
    return mail.as_bytes()


def deliver(
    services, raw: bytes | None, message_id: str = "msg-0001", recipients=(AR_ADDRESS,)
) -> dict[str, Any]:
    """Do what the receipt rule does: store the raw message, then build the Lambda event."""
    if raw is not None:
        services.s3.put_object(
            Bucket=services.settings.inbox_bucket, Key=MAIL_PREFIX + message_id, Body=raw
        )
    event = load("ses/reply")
    ses = event["Records"][0]["ses"]
    ses["mail"]["messageId"] = message_id
    ses["receipt"]["recipients"] = list(recipients)
    return event


def stored_mail(services) -> list[dict[str, Any]]:
    items = scan_all(services.dynamodb, TableName=services.settings.ledger_table)
    return [item for item in items if str(item["SK"]).startswith("MAIL#")]


def mail_events(services, chain: str):
    return [e for e in services.audit.events(chain) if e.action == "mail.received"]


def test_a_reply_from_a_contact_is_tied_to_the_account_by_its_sender(
    services, acme, mail_store, clock
):
    clock.advance(timedelta(days=3))
    event = deliver(services, message())

    response = lambda_handler(event, FakeContext())

    assert response["messages"][0]["status"] == "recorded"
    (stored,) = mail_store.messages("ACME")
    assert stored.matched_by == "sender"
    assert stored.from_address == "ap@customer.example"
    assert stored.received_at == clock.now()
    assert stored.s3_key == "inbox/mail/msg-0001"
    assert stored.text_length == len(BODY) + 1
    assert [(a.filename, a.content_type) for a in stored.attachments] == [
        ("advice.pdf", "application/pdf")
    ]
    (audited,) = mail_events(services, "ACME")
    assert audited.actor.id == "inbound_mail"
    assert audited.inputs == {
        "message_id": "msg-0001",
        "header_message_id": "20260302085941.4471@mail.customer.example",
        "matched_by": "sender",
        "subject": "Re: Invoice INV-1001 is overdue",
        "attachments": "1",
        "automated": [],
        "intent": "promise_to_pay",
        "interpretation": {
            "intent": "promise_to_pay",
            "invoice_numbers": [],
            "promised_date": "2026-03-06",
            "signals": ["promises payment"],
            "interpreter": "rules",
        },
        "acted": "promise not recorded: nothing is open on the account to promise",
    }
    assert "contact of account ACME" in audited.rationale
    assert services.ledger.store.account("ACME").next_review_at == clock.now()
    assert services.audit.verify().intact


def test_the_stored_record_and_audit_event_never_hold_the_body(services, acme):
    lambda_handler(deliver(services, message()), FakeContext())

    (stored,) = stored_mail(services)
    (audited,) = mail_events(services, "ACME")
    assert "DE00" not in str(stored)
    assert "DE00" not in audited.model_dump_json()


def test_a_reply_to_a_plus_address_is_tied_by_its_token_whoever_sends_it(
    services, acme, mail_store, integrator
):
    services.ledger.create_account("GLOBEX", profile("Globex", contacts=[]), integrator)
    token_address = reply_address("GLOBEX", "billing.example.com")
    event = deliver(services, message(To=token_address), recipients=[token_address])

    lambda_handler(event, FakeContext())

    (stored,) = mail_store.messages("GLOBEX")
    assert stored.matched_by == "reply_token"
    assert mail_store.messages("ACME") == []
    assert mail_events(services, "GLOBEX")[0].inputs["matched_by"] == "reply_token"


def test_a_token_in_a_header_recipient_counts_when_the_envelope_has_none(
    services, acme, mail_store, integrator
):
    services.ledger.create_account("GLOBEX", profile("Globex", contacts=[]), integrator)
    copied = f"{AR_ADDRESS}, {reply_address('GLOBEX', 'billing.example.com')}"

    lambda_handler(deliver(services, message(To=copied)), FakeContext())

    assert mail_store.messages("GLOBEX")[0].matched_by == "reply_token"


def test_a_token_for_an_account_that_does_not_exist_falls_back_to_the_sender(
    services, acme, mail_store
):
    stray = reply_address("NOBODY", "billing.example.com")

    lambda_handler(deliver(services, message(), recipients=[stray]), FakeContext())

    assert mail_store.messages("ACME")[0].matched_by == "sender"


def test_a_reply_to_a_message_autoar_sent_is_tied_by_its_thread(
    services, acme, mail_store, integrator, clock
):
    services.ledger.create_account("GLOBEX", profile("Globex", contacts=[]), integrator)
    sent = "<0102018e0a1b2c3d-000000@eu-west-1.amazonses.com>"
    outreach = Transaction()
    mail_store.stage_sent_message(outreach, sent, "GLOBEX", clock.now(), touch_id="T-1")
    commit(services.dynamodb, outreach)
    raw = message("someone.new@globex.example", In_Reply_To=sent.upper(), References=sent)

    lambda_handler(deliver(services, raw), FakeContext())

    (stored,) = mail_store.messages("GLOBEX")
    assert stored.matched_by == "thread"
    assert stored.in_reply_to == [sent.strip("<>").upper()]


def test_mail_from_an_unknown_sender_is_kept_unmatched_and_audited_in_the_system_chain(
    services, acme, mail_store
):
    review_before = services.ledger.store.account("ACME").next_review_at
    event = deliver(services, message("Stranger <stranger@elsewhere.example>"))

    response = lambda_handler(event, FakeContext())

    assert response["messages"][0]["account_id"] is None
    (stored,) = mail_store.messages(None)
    assert (stored.account_id, stored.matched_by) == (None, "none")
    assert mail_store.messages("ACME") == []
    (audited,) = mail_events(services, SYSTEM_CHAIN)
    assert "left unmatched for the finance team" in audited.rationale
    assert mail_events(services, "ACME") == []
    assert services.ledger.store.account("ACME").next_review_at == review_before
    assert services.audit.verify().intact


def test_a_sender_who_is_a_contact_of_two_accounts_is_ambiguous_and_unmatched(
    services, acme, mail_store, integrator
):
    services.ledger.create_account("ACME-AT", profile("Acme Austria"), integrator)

    lambda_handler(deliver(services, message()), FakeContext())

    (stored,) = mail_store.messages(None)
    assert stored.matched_by == "ambiguous_sender"
    assert stored.candidates == ["ACME", "ACME-AT"]
    assert mail_events(services, SYSTEM_CHAIN)[0].inputs["candidates"] == ["ACME", "ACME-AT"]


def test_the_same_event_twice_stores_one_record_and_one_audit_event(
    services, acme, mail_store, clock
):
    event = deliver(services, message())
    lambda_handler(event, FakeContext())
    clock.advance(timedelta(minutes=5))

    again = lambda_handler(event, FakeContext())

    assert again["messages"][0]["status"] == "already_recorded"
    assert again["messages"][0]["account_id"] == "ACME"
    assert len(stored_mail(services)) == 1
    assert len(mail_events(services, "ACME")) == 1
    assert services.audit.verify().intact


def test_a_redelivery_racing_the_first_is_refused_by_the_guard_not_stored_twice(
    services, acme, mail_store, monkeypatch
):
    event = deliver(services, message())
    lambda_handler(event, FakeContext())
    monkeypatch.setattr(MailStore, "receipt", lambda self, ses_message_id: None)

    again = lambda_handler(event, FakeContext())

    assert again["messages"][0]["status"] == "already_recorded"
    assert len(stored_mail(services)) == 1
    assert len(mail_events(services, "ACME")) == 1


def test_an_auto_reply_is_recorded_but_flagged(services, acme, mail_store):
    raw = message(Auto_Submitted="auto-replied", Subject="Out of office")

    response = lambda_handler(deliver(services, raw), FakeContext())

    assert response["messages"][0]["automated"] == ["auto-submitted: auto-replied"]
    assert mail_store.messages("ACME")[0].automated == ["auto-submitted: auto-replied"]
    assert mail_events(services, "ACME")[0].outcome == "flagged as automated"


def test_mail_from_our_own_mailbox_is_flagged_as_a_loop(services, acme, mail_store):
    raw = message(f"Receivables <{AR_ADDRESS}>")

    lambda_handler(deliver(services, raw), FakeContext())

    assert "loop: sent from an address of this mailbox" in mail_store.messages(None)[0].automated


@NO_METRICS_ON_FAILURE
def test_a_missing_raw_message_is_a_clear_error_and_nothing_is_written(services, acme):
    before = audit_count(services)

    with pytest.raises(NotFound, match="inbox/mail/msg-0001"):
        lambda_handler(deliver(services, None), FakeContext())

    assert stored_mail(services) == []
    assert guards(services) == []
    assert audit_count(services) == before


@NO_METRICS_ON_FAILURE
def test_a_stored_object_that_is_not_mail_is_a_clear_error_and_nothing_is_written(services, acme):
    before = audit_count(services)

    with pytest.raises(UnreadableMail, match="no header fields"):
        lambda_handler(deliver(services, b"\x00\x01binary junk"), FakeContext())

    assert stored_mail(services) == []
    assert guards(services) == []
    assert audit_count(services) == before


def test_the_metric_counts_recorded_replies_and_logs_hold_no_address_or_body(
    services, acme, capsys, caplog
):
    event = deliver(services, message())

    lambda_handler(event, FakeContext())
    lambda_handler(event, FakeContext())

    metrics = emf(capsys.readouterr().out)
    assert ['"replies_received":[1.0]' in line for line in metrics] == [True, False]
    assert ['"replies_received":[0.0]' in line for line in metrics] == [False, True]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert [record.getMessage() for record in caplog.records] == ["mail received"] * 2
    assert "matched_by" in logged
    assert "ap@customer.example" not in logged
    assert "DE00" not in logged


def guards(services) -> list[dict[str, Any]]:
    items = scan_all(services.dynamodb, TableName=services.settings.ledger_table)
    return [item for item in items if str(item["PK"]).startswith("MAILID#")]


def audit_count(services) -> int:
    return services.audit.verify().events


def emf(output: str) -> list[str]:
    """The CloudWatch embedded-metric lines among a handler's output."""
    return [line for line in output.splitlines() if '"CloudWatchMetrics"' in line]
