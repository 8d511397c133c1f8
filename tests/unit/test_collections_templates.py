"""Outreach reads right in each language, escapes everything it did not write itself, and never
leaves a contact without an email because a translation is missing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.collections.candidates import build_candidates
from shared.collections.outreach import compose, touch_for
from shared.collections.state import build_state
from shared.collections.templates import (
    LANGUAGE_CODES,
    TEMPLATE_NAMES,
    EmailContext,
    InstalmentLine,
    InvoiceLine,
    UnknownTemplate,
    render,
)
from tests.collections_factories import NOW, account, contact, example_policy, invoice, records


def context(**overrides) -> EmailContext:
    fields = {
        "account_name": "Acme GmbH",
        "contact_name": "Dana Payables",
        "sender_name": "Accounts receivable, Example Ltd",
        "currency": "EUR",
        "as_of": date(2026, 3, 2),
        "invoices": [
            InvoiceLine("INV-1", date(2026, 1, 31), Decimal("1234.50"), "EUR", 30),
            InvoiceLine("INV-2", date(2026, 3, 5), Decimal("10.00"), "EUR", -3),
        ],
        "pay_by": date(2026, 3, 16),
    }
    return EmailContext(**{**fields, **overrides})


@pytest.mark.parametrize("language", sorted(LANGUAGE_CODES))
@pytest.mark.parametrize("template", sorted(TEMPLATE_NAMES))
def test_every_template_renders_in_every_language(template, language):
    email = render(template, language, context())

    assert email.language == language
    assert "Acme GmbH" in email.subject
    for part in (email.text, email.html):
        assert "Dana Payables" in part
        assert "INV-1" in part
        assert "$" not in part


def test_an_english_reminder_lists_the_invoices_the_total_and_how_to_reply():
    email = render("firm", "en", context())

    assert email.subject == "Overdue invoices - Acme GmbH"
    assert "INV-1    31 Jan 2026  1,234.50 EUR  30 days" in email.text
    assert "INV-2    5 Mar 2026   10.00 EUR     not yet due" in email.text
    assert "Total open: 1,244.50 EUR" in email.text
    assert "reaches us by 16 Mar 2026" in email.text
    assert "reply to this email" in email.text


def test_a_german_reminder_writes_amounts_and_dates_the_german_way():
    email = render("final_notice", "de", context())

    assert email.subject == "Letzte Mahnung: überfällige Rechnungen - Acme GmbH"
    assert "1.234,50 EUR" in email.text
    assert "31.01.2026" in email.text
    assert "bis zum 16.03.2026" in email.text
    assert email.html.startswith('<!DOCTYPE html>\n<html lang="de">')


@pytest.mark.parametrize(("tag", "used"), [("de-CH", "de"), ("DE", "de"), ("fr", "en"), ("", "en")])
def test_a_language_tag_falls_back_to_its_language_then_to_english(tag, used):
    assert render("friendly", tag, context()).language == used


def test_without_a_pay_by_date_the_sentence_about_it_is_left_out():
    email = render("firm", "en", context(pay_by=None))

    assert "reaches us by" not in email.text


def test_customer_data_is_escaped_in_html_and_kept_to_one_line_in_the_subject():
    hostile = context(
        account_name="Acme <script>alert(1)</script>\r\nBcc: x@evil.example",
        contact_name='Dana "&" <b>',
        invoices=[InvoiceLine("<i>INV</i>", date(2026, 1, 31), Decimal("1.00"), "EUR", 3)],
    )

    email = render("friendly", "en", hostile)

    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "<b>" not in email.html
    assert "&lt;i&gt;INV&lt;/i&gt;" in email.html
    assert "\n" not in email.subject
    assert "\r" not in email.subject


def test_a_plan_offer_lists_the_instalments():
    instalments = [
        InstalmentLine(date(2026, 3, 9), Decimal("500.00"), "EUR"),
        InstalmentLine(date(2026, 4, 8), Decimal("500.00"), "EUR"),
    ]

    email = render("payment_plan", "en", context(instalments=instalments))

    assert "Instalment due" in email.text
    assert "8 Apr 2026" in email.text


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_plan_offer_names_the_invoices_it_covers_and_says_it_is_in_place(language):
    # Given a plan the agent agreed on INV-1 and INV-2
    instalments = [InstalmentLine(date(2026, 3, 9), Decimal("622.25"), "EUR")] * 2

    # When its email is rendered
    email = render("payment_plan", language, context(instalments=instalments))

    # Then both forms name the invoices, and neither asks the customer to confirm first
    for body in (email.text, email.html):
        assert "INV-1, INV-2" in body
    in_place = {"en": "we have set up a payment plan", "de": "Ratenzahlung eingerichtet"}
    assert in_place[language] in email.text
    assert "confirm" not in email.text
    assert "Bestätigung" not in email.text


def test_a_template_nobody_has_is_refused():
    with pytest.raises(UnknownTemplate):
        render("threatening", "en", context())


def test_a_chosen_reminder_becomes_an_email_in_the_contacts_language_and_a_touch():
    # Given a German-speaking contact and an invoice at the firm step
    policy = example_policy()
    owner = account(contacts=[contact(language="de", name="Frau Schmidt")])
    state = build_state(records(owner, invoices=[invoice("INV-1", 15)]), NOW, policy)
    [reminder, *_] = build_candidates(state, policy)

    # When it is composed and recorded
    recipient, email = compose(state, reminder, policy.collections, "Example Ltd")
    sent = touch_for(reminder, "T-1", NOW, state.account_id, message_id="<m@x>")

    # Then it is in German, addressed to the contact, and the touch records the step
    assert recipient.contact_id == "ap"
    assert email.language == "de"
    assert "Guten Tag Frau Schmidt," in email.text
    assert "bis zum 09.03.2026" in email.text
    assert sent.cadence_steps == {"INV-1": 14}
    assert sent.template == "firm"
    assert sent.sent_at == NOW
    assert NOW + timedelta(days=7) > sent.sent_at
