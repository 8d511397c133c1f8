"""The collections loop on moto: the sweep queues every account due for review, and decide takes
one decision per queued account, emailing its reminder through SES exactly once."""

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from unittest.mock import Mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.ses.models import ses_backends

from events import load
from functions.decide.handler import lambda_handler as decide_handler
from functions.inbound_mail.handler import lambda_handler as inbound_mail_handler
from functions.sweep.handler import lambda_handler as sweep_handler
from infra.local.lambda_context import LambdaContext
from shared.collections.store import CollectionsStore
from shared.collections.sweep import ReviewRequest
from shared.dynamodb import Transaction, commit
from shared.ledger.keys import review_shard
from shared.mail.addresses import account_from_address
from shared.mail.inbound import MAIL_PREFIX
from shared.mail.models import MatchedBy
from shared.mail.store import MailStore
from shared.outreach.outbox import ses_message_header
from tests.collections_factories import EXAMPLE_POLICY
from tests.conftest import START
from tests.factories import contact, invoice, profile
from tests.integration.conftest import ACCOUNT, REGION, SENDER, sent_emails

MAIL_DOMAIN = "ar.example.com"
SENDER_NAME = "Accounts receivable, Example AG"
CONFIGURATION_SET = "autoar-outreach"
PDF = b"%PDF-1.4\n% INV-1 of Acme GmbH\n%%EOF\n"


@pytest.fixture
def decide_queue(aws, monkeypatch) -> str:
    url = boto3.client("sqs").create_queue(QueueName="autoar-decide")["QueueUrl"]
    monkeypatch.setenv("DECIDE_QUEUE_URL", url)
    return url


@pytest.fixture
def loop(services, sender_verified, monkeypatch):
    """decide's settings: the shipped example policy (friendly reminder 3 days after due), a
    verified sender and its configuration set, and replies taken on MAIL_DOMAIN."""
    boto3.client("ses").create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})
    monkeypatch.setenv("SES_CONFIGURATION_SET", CONFIGURATION_SET)
    monkeypatch.setenv("POLICY_SOURCE", f"file:{EXAMPLE_POLICY}")
    monkeypatch.setenv("SENDER_NAME", SENDER_NAME)
    monkeypatch.setenv("MAIL_DOMAIN", MAIL_DOMAIN)
    return services


@pytest.fixture
def acme(loop, integrator):
    """ACME, due for review now (Monday 2 March, 10:00 in Berlin): INV-1 (1200.00 EUR) 9 days
    overdue and INV-2 (800.00 EUR) 6 days overdue, never reminded."""
    return with_acme(loop, integrator)


def with_acme(services, integrator, language: str = "en", document_key: str | None = None):
    services.ledger.create_account(
        "ACME", profile(contacts=[contact(language=language)]), integrator
    )
    services.ledger.create_invoices(
        [
            invoice("INV-1", issued=date(2026, 1, 22), document_key=document_key),
            invoice("INV-2", amount="800.00", issued=date(2026, 1, 25)),
        ],
        integrator,
    )
    return services


def review_of(account_id: str, review_at: datetime = START) -> str:
    return ReviewRequest(account_id=account_id, review_at=review_at).body()


def sqs_batch(*bodies: str) -> dict[str, Any]:
    """The decide queue's event, one record per body, in the shape of the sample batch."""
    template = load("sqs/decide_batch")["Records"][0]
    records = [
        {**template, "messageId": f"msg-{n}", "receiptHandle": f"receipt-{n}", "body": body}
        for n, body in enumerate(bodies, start=1)
    ]
    return {"Records": records}


def decide(event: dict[str, Any]) -> dict[str, Any]:
    return dict(decide_handler(event, LambdaContext("autoar-decide")))


def sweep() -> dict[str, Any]:
    return sweep_handler(load("eventbridge/sweep_scheduled"), LambdaContext("autoar-sweep"))


def queued(queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue, received (and so hidden from a second read)."""
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        messages.extend(batch)
    return messages


def review_at(services, account_id: str, when: datetime) -> None:
    changes = Transaction()
    services.ledger.store.stage_review(changes, account_id, when)
    commit(services.dynamodb, changes)


def audited(services, action: str, account_id: str = "ACME"):
    return [e for e in services.audit.events(account_id) if e.action == action]


def touches(services, account_id: str = "ACME"):
    return services.ledger.store.records(account_id).touches


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def text_rows(text: str) -> list[list[str]]:
    """The invoice table of a text part: its rows, cell by cell."""
    return [re.split(r"\s{2,}", line) for line in text.splitlines() if line.startswith("INV-")]


def html_rows(html: str) -> list[list[str]]:
    """The invoice table of an HTML part: its body rows, cell by cell."""
    body = html.partition("<tbody>")[2].partition("</tbody>")[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def reply_to_the_reminder(sender: str, text: str, in_reply_to: str | None = None) -> bytes:
    """A reply to ACME's reminder, sent to the plain AR address."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = f"ar@{MAIL_DOMAIN}"
    reply["Subject"] = "Re: Payment reminder - Acme GmbH"
    reply["Message-ID"] = f"<{uuid.uuid4()}@reply.example>"
    if in_reply_to is not None:
        reply["In-Reply-To"] = in_reply_to
    reply.set_content(text)
    return reply.as_bytes()


def deliver_mail(
    services, raw: bytes, ses_message_id: str = "reply-0001", dmarc: str = "PASS"
) -> dict[str, Any]:
    """Store the raw mail as the receipt rule does and hand inbound_mail its event."""
    services.s3.put_object(
        Bucket=services.settings.inbox_bucket, Key=MAIL_PREFIX + ses_message_id, Body=raw
    )
    event = load("ses/reply")
    event["Records"][0]["ses"]["mail"]["messageId"] = ses_message_id
    event["Records"][0]["ses"]["receipt"]["recipients"] = [f"ar@{MAIL_DOMAIN}"]
    event["Records"][0]["ses"]["receipt"]["dmarcVerdict"] = {"status": dmarc}
    (receipt,) = inbound_mail_handler(event, LambdaContext("autoar-inbound-mail"))["messages"]
    return receipt


# The sweep


def test_the_sweep_queues_each_due_account_once_and_none_that_is_not_due(
    services, integrator, decide_queue
):
    # Given, in each of the four review shards, accounts due now or earlier and accounts due later
    due = {
        "STARK": START,
        "INITECH": START,
        "ACME": START,
        "UMBRELLA": START - timedelta(hours=3),
        "TYRELL": START - timedelta(days=2),
    }
    later = {
        "HOOLI": START + timedelta(minutes=1),
        "GLOBEX": START + timedelta(days=1),
        "WAYNE": START + timedelta(days=7),
        "CYBERDYNE": START + timedelta(days=30),
    }
    for account_id, when in {**due, **later}.items():
        services.ledger.create_account(account_id, profile(name=account_id), integrator)
        review_at(services, account_id, when)
    every_shard = {f"REVIEW#{shard:03d}" for shard in range(4)}
    assert {review_shard(account_id, 4) for account_id in due} == every_shard
    assert {review_shard(account_id, 4) for account_id in later} == every_shard

    # When the schedule fires
    result = sweep()

    # Then each due account is on the decide queue once, naming the review it was due at
    bodies = [message["Body"] for message in queued(decide_queue)]
    assert sorted(json.loads(body)["account_id"] for body in bodies) == sorted(due)
    for body in bodies:
        request = ReviewRequest.from_body(body)
        assert body == review_of(request.account_id, due[request.account_id])
    assert result == {"due": 5, "enqueued": 5, "failed": 0, "complete": True}


def test_the_sweep_queues_an_account_again_only_while_it_stays_due(
    services, integrator, decide_queue
):
    # Given ACME, due now, already queued by one sweep
    services.ledger.create_account("ACME", profile(), integrator)
    sweep()
    first = [m["Body"] for m in queued(decide_queue)]

    # When the schedule fires again before it was decided, and once more after its review moved
    sweep()
    second = [m["Body"] for m in queued(decide_queue)]
    review_at(services, "ACME", START + timedelta(days=1))
    sweep()

    # Then both runs queued the same body (easy to recognise as a duplicate), the third nothing
    assert first == second == [review_of("ACME")]
    assert queued(decide_queue) == []


# Deciding


def test_a_due_account_with_overdue_invoices_gets_one_reminder_and_an_audited_decision(
    acme, decide_queue, clock
):
    # Given ACME's review as the sweep queued it, delivered to decide by SQS
    sweep()
    (message,) = queued(decide_queue)

    # When decide takes the batch
    response = decide(sqs_batch(message["Body"]))

    # Then no message failed, and one email went to the contact from the verified sender
    assert response == {"batchItemFailures": []}
    (email,) = sent_emails()
    assert email["To"] == "Dana Payables <ap@customer.example>"
    assert email["From"].addresses[0].addr_spec == SENDER
    assert email["From"].addresses[0].display_name == SENDER_NAME
    assert email["Subject"] == "Payment reminder - Acme GmbH"
    # And it lists both invoices, with open amount and days overdue, as text and as HTML
    text, html = text_and_html(email)
    rows = [
        ["INV-1", "21 Feb 2026", "1,200.00 EUR", "9 days"],
        ["INV-2", "24 Feb 2026", "800.00 EUR", "6 days"],
    ]
    assert text_rows(text) == html_rows(html) == rows
    assert "Total open: 2,000.00 EUR" in text
    assert "Total open: 2,000.00 EUR" in html
    # And a reply to it comes back to ACME, on a thread recorded with the touch
    assert account_from_address(email["Reply-To"]) == "ACME"
    assert email["Reply-To"].endswith(f"@{MAIL_DOMAIN}")
    (touch,) = touches(acme)
    assert email["Message-ID"] == touch.message_id
    assert touch.message_id.endswith(f"@{MAIL_DOMAIN}>")
    assert touch.template == "friendly"
    assert touch.invoice_numbers == ["INV-1", "INV-2"]
    # And the decision is audited with what was offered, what was chosen, why, under which rule
    (decision,) = audited(acme, "decision.made")
    offered = [candidate["kind"] for candidate in decision.inputs["candidates"]]
    assert offered == ["send_reminder", "wait"]
    chosen = decision.inputs["chosen"]
    assert (chosen["kind"], chosen["template"]) == ("send_reminder", "friendly")
    assert chosen["invoice_numbers"] == ["INV-1", "INV-2"]
    assert decision.inputs["policy_rule"] == "collections.cadence.standard[1]"
    assert decision.rationale.startswith("Sending one friendly email for 2 invoice(s)")
    assert decision.policy_version == "2026-12-01.1"
    assert decision.inputs["decision_id"] == touch.decision_id
    # And the email is audited as sent, for the same decision
    (sent,) = audited(acme, "email.sent")
    assert sent.inputs["decision_id"] == touch.decision_id
    assert sent.inputs["invoice_numbers"] == ["INV-1", "INV-2"]
    # And the account's next review is set a week on: Monday 9 March, 09:00 in Berlin
    next_review = acme.ledger.store.account("ACME").next_review_at
    assert next_review > clock.now()
    assert next_review == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert decision.inputs["next_review_at"] == next_review.isoformat()


@pytest.fixture
def send_requests():
    """Every SendRawEmail request's parameters as boto3 builds them: moto ignores configuration
    sets, so the request itself is what shows one was named."""
    seen: list[dict[str, Any]] = []
    events = boto3._get_default_session().events

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    events.register("provide-client-params.ses.SendRawEmail", record)
    yield seen
    events.unregister("provide-client-params.ses.SendRawEmail", record)


def test_the_reminder_is_sent_with_the_configuration_set_that_reports_its_bounces(
    acme, decide_queue, send_requests
):
    # Given ACME's review as the sweep queued it
    sweep()
    (message,) = queued(decide_queue)

    # When decide emails ACME's reminder
    decide(sqs_batch(message["Body"]))

    # Then it went through the configuration set whose events reach mail_events
    assert [params.get("ConfigurationSetName") for params in send_requests] == [CONFIGURATION_SET]


def test_the_same_message_delivered_again_sends_no_second_email(acme):
    # Given ACME's review delivered twice in one batch, as SQS may
    batch = sqs_batch(review_of("ACME"), review_of("ACME"))

    # When decide takes that batch, and the whole batch is delivered once more
    first = decide(batch)
    again = decide(batch)

    # Then every delivery succeeded, yet one email went out and one touch was recorded
    assert first == again == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert len(touches(acme)) == 1
    assert len(audited(acme, "decision.made")) == 1
    assert len(audited(acme, "email.sent")) == 1


def test_a_redelivery_after_the_email_went_but_before_it_was_noted_sends_nothing_again(acme):
    # Given ACME's reminder went out, but the invocation died before noting it settled
    batch = sqs_batch(review_of("ACME"))
    decide(batch)
    (decision,) = audited(acme, "decision.made")
    notes = CollectionsStore(acme.dynamodb, acme.settings.ledger_table, acme.settings.review_shards)
    unsettled = Transaction()
    notes.stage_pending_email(unsettled, "ACME", decision.inputs["decision_id"])
    notes.commit(unsettled)

    # When SQS delivers the message again
    response = decide(batch)

    # Then the outbox finds the email sent: nothing goes again, and the note is cleared
    assert response == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert len(touches(acme)) == 1
    assert len(audited(acme, "email.sent")) == 1
    assert notes.notes("ACME").pending_email is None


def test_an_email_ses_refused_is_sent_on_redelivery_once_without_deciding_again(acme):
    # Given SES refuses the sender when ACME's review is first delivered
    # (reported as that message's failure, even when it is the whole batch: SQS retries it)
    boto3.client("ses").delete_identity(Identity=SENDER)
    batch = sqs_batch(review_of("ACME"))
    assert decide(batch) == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert sent_emails() == []

    # When the sender is verified again and SQS delivers the message again, twice
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    retried = decide(batch)
    decide(batch)

    # Then the email recorded the first time goes out once, on the touch recorded then
    assert retried == {"batchItemFailures": []}
    (email,) = sent_emails()
    (touch,) = touches(acme)
    assert email["Message-ID"] == touch.message_id
    assert len(audited(acme, "decision.made")) == 1
    assert [e.action for e in acme.audit.events("ACME") if e.action.startswith("email.")] == [
        "email.refused",
        "email.sent",
    ]


def test_a_malformed_message_fails_alone_and_the_rest_of_the_batch_is_decided(acme):
    # Given a batch with a body that is not JSON, one that is no review request, and ACME's review
    batch = sqs_batch("account=ACME", '{"account": "ACME"}', review_of("ACME"))

    # When decide takes it
    response = decide(batch)

    # Then only the two malformed messages come back, and ACME was decided and emailed
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-2"}]
    }
    assert len(audited(acme, "decision.made")) == 1
    (email,) = sent_emails()
    assert "INV-1" in text_and_html(email)[0]


def test_a_german_contact_gets_the_german_reminder_with_the_invoice_pdf_attached(loop, integrator):
    # Given a German-speaking contact, and INV-1's PDF stored in the inbox bucket
    key = "documents/ACME/INV-1.pdf"
    loop.s3.put_object(Bucket=loop.settings.inbox_bucket, Key=key, Body=PDF)
    with_acme(loop, integrator, language="de", document_key=key)

    # When decide takes ACME's review
    decide(sqs_batch(review_of("ACME")))

    # Then the reminder is written in German, amounts and dates as Germans write them
    (email,) = sent_emails()
    assert email["Subject"] == "Zahlungserinnerung - Acme GmbH"
    assert email["Content-Language"] == "de"
    text, html = text_and_html(email)
    assert text.startswith("Guten Tag Dana Payables,")
    assert "<p>Guten Tag Dana Payables,</p>" in html
    assert "Tage überfällig" in text
    assert "Tage überfällig" in html
    rows = [
        ["INV-1", "21.02.2026", "1.200,00 EUR", "9 Tage"],
        ["INV-2", "24.02.2026", "800,00 EUR", "6 Tage"],
    ]
    assert text_rows(text) == html_rows(html) == rows
    # And INV-1's PDF is attached as it is stored; INV-2 has none
    (attachment,) = email.iter_attachments()
    assert attachment.get_filename() == "INV-1.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    (sent,) = audited(loop, "email.sent")
    assert sent.inputs["attached"] == ["INV-1.pdf"]
    assert sent.inputs["attachments_missing"] == []


def test_a_pdf_s3_will_not_hand_over_does_not_hold_the_reminder_back(loop, integrator, monkeypatch):
    # Given INV-1 names a PDF that S3 refuses to read (as it answers a key outside the grant)
    with_acme(loop, integrator, document_key="documents/ACME/INV-1.pdf")
    denied = ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")
    monkeypatch.setattr("shared.outreach.outbox.fetch", Mock(side_effect=denied))

    # When decide takes ACME's review
    response = decide(sqs_batch(review_of("ACME")))

    # Then the reminder went, without the PDF, and its audit event says which is missing
    assert response == {"batchItemFailures": []}
    (email,) = sent_emails()
    assert list(email.iter_attachments()) == []
    (sent,) = audited(loop, "email.sent")
    assert sent.inputs["attachments_missing"] == ["INV-1"]


def test_a_reply_to_the_reminder_is_tied_to_the_account_by_its_thread(acme, clock):
    # Given ACME was sent its reminder, and SES gave it its own Message-ID
    decide(sqs_batch(review_of("ACME")))
    (sent,) = ses_backends[ACCOUNT][REGION].sent_messages

    # When someone who is no contact of ACME answers it at the plain AR address
    clock.advance(timedelta(hours=2))
    reply = reply_to_the_reminder(
        "Sam Treasury <treasury@holding.example>",
        "We are looking into it and will come back to you this week.",
        in_reply_to=ses_message_header(sent.id, REGION),
    )
    receipt = deliver_mail(acme, reply)

    # Then inbound mail ties it to ACME through the thread of the reminder
    assert receipt["account_id"] == "ACME"
    (stored,) = MailStore(acme.dynamodb, acme.settings.ledger_table).messages("ACME")
    assert stored.matched_by is MatchedBy.THREAD
    assert stored.from_address == "treasury@holding.example"


@pytest.mark.parametrize(("dmarc", "escalated"), [("PASS", True), ("FAIL", False)])
def test_a_customer_who_says_they_paid_is_put_to_a_person(acme, clock, dmarc, escalated):
    # Given ACME's reminder went out, and its contact answers that they paid
    decide(sqs_batch(review_of("ACME")))
    clock.advance(timedelta(hours=2))
    reply = reply_to_the_reminder(
        "Dana Payables <ap@customer.example>",
        "We already paid INV-1 and INV-2 last Friday by wire.",
    )
    deliver_mail(acme, reply, dmarc=dmarc)

    # When the account comes up for review, as the reply put it
    decide(sqs_batch(review_of("ACME", clock.now())))

    # Then a person is put onto it, told what the customer said; unless the sender was forged
    escalations = audited(acme, "account.escalated")
    assert bool(escalations) is escalated
    if escalated:
        (escalation,) = escalations
        assert escalation.inputs["rule"] == "replies: a person answers"
        assert "the customer says they have paid" in escalation.rationale
