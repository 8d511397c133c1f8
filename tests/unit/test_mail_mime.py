"""Reading raw MIME: what intake keeps of a message, and which messages it refuses."""

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from shared.mail.errors import UnreadableMail
from shared.mail.mime import html_to_text, parse_mime

KEY = "inbox/mail/test-message"


def reply(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Dana Payables <AP@Customer.Example>")
    message["To"] = headers.pop("To", "Receivables <ar@billing.example.com>")
    message["Subject"] = headers.pop("Subject", "Re: Invoice INV-1001")
    message["Message-ID"] = headers.pop("Message_ID", "<reply-1@customer.example>")
    message["Date"] = headers.pop("Date", "Mon, 2 Mar 2026 09:59:41 +0100")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_a_plain_reply_yields_its_headers_sender_and_text():
    message = reply(Cc="Controller <controller@customer.example>")
    message.set_content("We will pay INV-1001 on Friday.\n")

    parsed = parse_mime(message.as_bytes(), KEY)

    assert parsed.message_id == "reply-1@customer.example"
    assert parsed.from_address == "ap@customer.example"
    assert parsed.recipients == ["ar@billing.example.com", "controller@customer.example"]
    assert parsed.subject == "Re: Invoice INV-1001"
    assert parsed.sent_at == datetime(2026, 3, 2, 8, 59, 41, tzinfo=UTC)
    assert parsed.text == "We will pay INV-1001 on Friday.\n"
    assert parsed.attachments == []
    assert parsed.automated == []


def test_the_body_is_never_shown_in_the_parsed_messages_repr():
    message = reply()
    message.set_content("Our bank account is DE00 1234 5678")

    parsed = parse_mime(message.as_bytes(), KEY)

    assert "DE00" not in repr(parsed)


def test_plain_text_is_preferred_over_its_html_alternative():
    message = reply()
    message.set_content("plain words")
    message.add_alternative("<p>html words</p>", subtype="html")

    assert parse_mime(message.as_bytes(), KEY).text.strip() == "plain words"


def test_an_html_only_body_is_read_as_text_without_tags_scripts_or_styles():
    message = reply()
    message.set_content(
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>We dispute <b>INV-1001</b>:</p><p>goods damaged &amp; returned</p>"
        "<script>alert(1)</script></body></html>",
        subtype="html",
    )

    parsed = parse_mime(message.as_bytes(), KEY)

    assert parsed.text == "We dispute INV-1001:\ngoods damaged & returned"


def test_attachments_are_summarised_by_name_type_and_size_and_alternatives_are_not():
    message = reply()
    message.set_content("Remittance attached.")
    message.add_alternative("<p>Remittance attached.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.7 remittance", maintype="application", subtype="pdf", filename="remit.pdf"
    )
    message.add_attachment("date;amount\n", subtype="csv", filename="payments.csv")

    parsed = parse_mime(message.as_bytes(), KEY)

    summary = [(a.filename, a.content_type, a.size) for a in parsed.attachments]
    assert summary == [("remit.pdf", "application/pdf", 19), ("payments.csv", "text/csv", 12)]


def test_a_forwarded_message_counts_as_one_attachment():
    inner = reply(Subject="original")
    inner.set_content("inner text")
    message = reply()
    message.set_content("see below")
    message.add_attachment(inner)

    parsed = parse_mime(message.as_bytes(), KEY)

    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]


def test_thread_ids_put_in_reply_to_first_then_the_newest_reference():
    raw = (
        b"From: ap@customer.example\r\n"
        b"In-Reply-To: <c@autoar>\r\n"
        b"References: <a@autoar> <b@autoar>\r\n <c@autoar>\r\n"
        b"\r\nok\r\n"
    )

    parsed = parse_mime(raw, KEY)

    assert parsed.references == ["a@autoar", "b@autoar", "c@autoar"]
    assert parsed.thread_ids == ["c@autoar", "b@autoar", "a@autoar"]


def test_encoded_subjects_and_unknown_charsets_are_read_not_refused():
    raw = (
        b"From: ap@customer.example\r\n"
        b"Subject: =?utf-8?q?Zahlung_f=C3=BCr_INV-7?=\r\n"
        b"Content-Type: text/plain; charset=x-made-up\r\n"
        b"\r\n"
        b"Betrag \xfcberwiesen\r\n"
    )

    parsed = parse_mime(raw, KEY)

    assert parsed.subject == "Zahlung für INV-7"
    assert parsed.text.startswith("Betrag ")
    assert parsed.message_id is None
    assert parsed.sent_at is None


@pytest.mark.parametrize(
    ("headers", "sign"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
        ({"X_Autoreply": "yes"}, "auto-reply header"),
        ({"Precedence": "auto_reply"}, "precedence: auto_reply"),
        ({"From": "Mail Delivery System <MAILER-DAEMON@mx.customer.example>"}, "bounce"),
        ({"X_Failed_Recipients": "ap@customer.example"}, "bounce"),
    ],
)
def test_machine_sent_mail_is_flagged_with_the_reason(headers, sign):
    message = reply(**headers)
    message.set_content("I am out of the office until Monday.")

    assert sign in parse_mime(message.as_bytes(), KEY).automated


def test_auto_submitted_no_and_bulk_precedence_are_a_person_writing():
    message = reply(Auto_Submitted="no", Precedence="bulk")
    message.set_content("Paid today.")

    assert parse_mime(message.as_bytes(), KEY).automated == []


def test_a_delivery_status_report_is_a_bounce():
    raw = (
        b"From: postmaster@customer.example\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n\r\n"
        b"--b--\r\n"
    )

    parsed = parse_mime(raw, KEY)

    assert "bounce" in parsed.automated
    assert parsed.text.strip() == "undeliverable"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no header fields"),
        (b"Subject: hello\r\n\r\nno sender here\r\n", "no sender address"),
        (b"From: undisclosed\r\n\r\nbody\r\n", "no sender address"),
    ],
)
def test_what_cannot_be_tied_to_anyone_is_refused_naming_the_object(raw, reason):
    with pytest.raises(UnreadableMail) as refused:
        parse_mime(raw, KEY)

    assert reason in str(refused.value)
    assert KEY in str(refused.value)


def test_html_to_text_keeps_block_breaks_and_decodes_entities():
    assert html_to_text("<div>one</div><div>two &lt;3&gt;</div>line<br>break") == (
        "one\ntwo <3>\nline\nbreak"
    )
