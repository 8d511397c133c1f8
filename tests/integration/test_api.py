"""The integrator API on moto: events through the handler, then the ledger and the audit trail."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.api.codec import to_json
from shared import services as services_module
from shared.audit.chain import verify_chain
from shared.audit.models import GENESIS_HASH, Actor, ActorKind, AuditEvent
from shared.clock import SimulatedClock
from shared.errors import ConfigurationError
from shared.ledger.models import InvoiceStatus
from shared.services import Services
from tests.integration.api_requests import ERP_ROLE, body_of, call, request, send

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ACME = "ACME-GMBH"
GLOBEX = "GLOBEX-US"
ERP = Actor(kind=ActorKind.INTEGRATOR, id=ERP_ROLE)


def given_two_accounts() -> None:
    assert send("api/post_account").status == 201
    assert send("api/post_account_globex").status == 201


def given_the_sample_invoices() -> None:
    given_two_accounts()
    assert send("api/post_invoice_batch").status == 201


def stored_numbers(services: Services, account_id: str) -> list[str]:
    return sorted(invoice.number for invoice in services.ledger.store.records(account_id).invoices)


def actions(services: Services, account_id: str) -> list[str]:
    return [event.action for event in services.audit.events(account_id)]


# Invoice batches


def test_sample_batch_stores_every_invoice_with_one_chained_audit_event_each(
    services: Services,
) -> None:
    # Given two accounts, and the sample batch of invoices across both
    given_two_accounts()
    sent = body_of("api/post_invoice_batch")["invoices"]

    # When the batch is posted
    response = send("api/post_invoice_batch")

    # Then every invoice is stored as sent, open for its full amount
    assert response.status == 201
    assert [i["number"] for i in response.body["invoices"]] == [i["number"] for i in sent]
    for invoice in sent:
        stored = services.ledger.store.invoice(invoice["account_id"], invoice["number"])
        assert stored.amount == stored.open_amount == Decimal(invoice["amount"])
        assert stored.status is InvoiceStatus.OPEN
    # And each account's chain gained one event per invoice, recorded as the calling IAM role
    for account_id in (ACME, GLOBEX):
        numbers = sorted(i["number"] for i in sent if i["account_id"] == account_id)
        assert stored_numbers(services, account_id) == numbers
        events = services.audit.events(account_id)
        assert [e.action for e in events] == ["account.created"] + ["invoice.created"] * 2
        assert sorted(e.inputs["number"] for e in events[1:]) == numbers
        assert {e.actor for e in events} == {ERP}
    assert services.audit.verify().breaks == []


def test_batch_response_renders_amounts_as_strings_at_the_currency_minor_unit(
    services: Services,
) -> None:
    # Given two accounts
    given_two_accounts()

    # When the sample batch is posted
    response = send("api/post_invoice_batch")

    # Then amounts come back as decimal strings, never JSON numbers
    amounts = [(i["amount"], i["open_amount"]) for i in response.body["invoices"]]
    assert amounts == [
        ("1200.00", "1200.00"),
        ("845.50", "845.50"),
        ("15000.00", "15000.00"),
        ("320.75", "320.75"),
    ]


def _batch_with(index: int, **changes: Any) -> dict[str, Any]:
    batch: dict[str, Any] = copy.deepcopy(body_of("api/post_invoice_batch"))
    batch["invoices"][index].update(changes)
    return batch


@pytest.mark.parametrize(
    ("batch", "status", "field"),
    [
        pytest.param(_batch_with(2, currency="XYZ"), 422, "invoices[2].currency", id="currency"),
        pytest.param(_batch_with(1, amount="845.505"), 422, "invoices[1].amount", id="decimals"),
        pytest.param(
            _batch_with(1, amount=Decimal("-5")), 422, "invoices[1].amount", id="negative"
        ),
        pytest.param(
            _batch_with(3, due_date="2026-02-01"),
            422,
            "invoices[3].due_date",
            id="due-before-issue",
        ),
        pytest.param(
            _batch_with(0, discount="5%"), 422, "invoices[0].discount", id="unknown-field"
        ),
        pytest.param(
            _batch_with(2, account_id="INITECH"), 400, "invoices[2].account_id", id="no-account"
        ),
        pytest.param(
            _batch_with(1, number="INV-2026-0041"), 400, "invoices[1].number", id="number-twice"
        ),
        pytest.param(
            _batch_with(0, currency="USD"), 400, "invoices[0].currency", id="account-currency"
        ),
    ],
)
def test_batch_with_one_bad_invoice_names_it_and_stores_nothing(
    services: Services, batch: dict[str, Any], status: int, field: str
) -> None:
    # Given two accounts
    given_two_accounts()

    # When a batch with one bad invoice is posted
    response = call(request("POST", "/invoices/batch", to_json(batch)))

    # Then the answer names the invoice and its field
    assert response.status == status
    assert response.body["error"] == "invalid_input"
    assert [f["field"] for f in response.body["fields"]] == [field]
    assert response.body["fields"][0]["reason"]
    # And nothing was stored or audited for any invoice of the batch
    assert stored_numbers(services, ACME) == stored_numbers(services, GLOBEX) == []
    assert actions(services, ACME) == actions(services, GLOBEX) == ["account.created"]
    assert services.audit.verify().breaks == []


def test_batch_reusing_a_stored_number_names_it_and_stores_nothing(services: Services) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()

    # When a later batch carries a new invoice and one already stored
    later = body_of("api/post_invoice_batch")
    fresh = {**later["invoices"][0], "number": "INV-2026-0099"}
    response = call(request("POST", "/invoices/batch", {"invoices": [fresh, later["invoices"][2]]}))

    # Then the stored one is named and the new one is not stored either
    assert response.status == 400
    assert response.body["fields"][0]["field"] == "invoices[1].number"
    assert "INV-2026-0099" not in stored_numbers(services, ACME)
    assert len(actions(services, ACME)) == 3


def test_empty_batch_is_refused(services: Services) -> None:
    # When a batch without invoices is posted
    response = call(request("POST", "/invoices/batch", {"invoices": []}))

    # Then it is refused naming the list
    assert response.status == 422
    assert response.body["fields"][0]["field"] == "invoices"


# Single invoices, amounts, voids


def test_single_invoice_is_stored_under_the_account_in_the_path(services: Services) -> None:
    # Given two accounts
    given_two_accounts()

    # When the sample invoice, which names no account in its body, is posted to ACME's URL
    response = send("api/post_invoice")

    # Then it is stored on ACME and audited
    assert response.status == 201
    assert response.body["account_id"] == ACME
    assert response.body["amount"] == "2310.40"
    assert stored_numbers(services, ACME) == ["INV-2026-0063"]
    assert actions(services, ACME) == ["account.created", "invoice.created"]


def test_float_amount_in_json_is_stored_as_the_exact_decimal(services: Services) -> None:
    # Given an account
    given_two_accounts()
    body = '{"number": "F-1", "issue_date": "2026-03-01", "due_date": "2026-03-31", '
    small = body + '"currency": "EUR", "amount": 1200.5}'
    huge = body.replace("F-1", "F-2") + '"currency": "EUR", "amount": 12345678901234567.89}'

    # When amounts are sent as JSON numbers, one beyond what a binary float holds to the cent
    first = call(request("POST", f"/accounts/{ACME}/invoices", small))
    second = call(request("POST", f"/accounts/{ACME}/invoices", huge))

    # Then both are stored exactly, at the currency's two decimals
    assert (first.status, second.status) == (201, 201)
    assert str(services.ledger.store.invoice(ACME, "F-1").amount) == "1200.50"
    assert services.ledger.store.invoice(ACME, "F-2").amount == Decimal("12345678901234567.89")
    assert (first.body["amount"], second.body["amount"]) == ("1200.50", "12345678901234567.89")


def test_single_invoice_naming_another_account_in_its_body_is_refused(services: Services) -> None:
    # Given two accounts
    given_two_accounts()
    invoice = {**body_of("api/post_invoice"), "account_id": GLOBEX}

    # When it is posted to ACME's URL
    response = call(request("POST", f"/accounts/{ACME}/invoices", invoice))

    # Then it is refused and stored nowhere
    assert response.status == 400
    assert response.body["fields"][0]["field"] == "account_id"
    assert stored_numbers(services, ACME) == stored_numbers(services, GLOBEX) == []


def test_single_invoice_errors_name_its_own_fields(services: Services) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()
    duplicate = {**body_of("api/post_invoice"), "number": "INV-2026-0041"}

    # When an invoice with a number ACME already has is posted
    response = call(request("POST", f"/accounts/{ACME}/invoices", duplicate))

    # Then the field is named as sent, not as a batch position
    assert response.status == 400
    assert response.body["fields"] == [
        {"field": "number", "reason": "invoice INV-2026-0041 already exists for this account"}
    ]


def test_invoice_for_an_unknown_account_is_not_found(services: Services) -> None:
    # When an invoice is posted under an account that does not exist
    response = call(request("POST", "/accounts/INITECH/invoices", body_of("api/post_invoice")))

    # Then the account is not found
    assert response.status == 404
    assert response.body["error"] == "not_found"
    assert "INITECH" in response.body["message"]


def test_void_marks_the_invoice_void_and_audits_the_reason(services: Services) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()

    # When one is voided
    response = send("api/post_void")

    # Then it is void with nothing left open, and the reason is on the trail
    assert response.status == 200
    voided = services.ledger.store.invoice(ACME, "INV-2026-0057")
    assert (voided.status, voided.open_amount) == (InvoiceStatus.VOID, Decimal("0.00"))
    last = services.audit.events(ACME)[-1]
    assert (last.action, last.inputs["reason"]) == ("invoice.voided", voided.voided_reason)
    # And voiding it again conflicts
    assert send("api/post_void").status == 409


def test_invoice_number_with_a_slash_is_addressed_url_encoded(services: Services) -> None:
    # Given an invoice whose number contains slashes
    given_two_accounts()
    invoice = {**body_of("api/post_invoice"), "number": "RE/2026/0007"}
    assert call(request("POST", f"/accounts/{ACME}/invoices", invoice)).status == 201

    # When it is voided through its URL-encoded number
    path = f"/accounts/{ACME}/invoices/RE%2F2026%2F0007/void"
    response = call(request("POST", path, {"reason": "wrong customer"}))

    # Then that invoice is void
    assert response.status == 200
    assert services.ledger.store.invoice(ACME, "RE/2026/0007").status is InvoiceStatus.VOID


def test_voiding_an_unknown_invoice_is_not_found(services: Services) -> None:
    # Given two accounts
    given_two_accounts()

    # When an invoice that was never posted is voided
    response = call(request("POST", f"/accounts/{ACME}/invoices/NOPE-1/void", {"reason": "x"}))

    # Then it is not found
    assert response.status == 404


# Credit notes and payments


def test_credit_note_reduces_the_invoice_it_names(services: Services) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()

    # When a credit note of 200.00 against INV-2026-0041 is recorded
    response = send("api/post_credit_note")

    # Then it is fully applied and the invoice's open amount is reduced
    assert response.status == 201
    assert response.body["unapplied_amount"] == "0.00"
    invoice = services.ledger.store.invoice(ACME, "INV-2026-0041")
    assert (invoice.open_amount, invoice.status) == (Decimal("1000.00"), InvoiceStatus.OPEN)
    records = services.ledger.store.records(ACME)
    assert [(a.source_id, a.amount) for a in records.allocations] == [
        ("CN-2026-0007", Decimal("200.00"))
    ]
    assert actions(services, ACME)[-1] == "credit_note.recorded"


def test_payment_with_allocations_reduces_each_invoice_and_pays_off_the_last(
    services: Services,
) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()

    # When the sample payment allocates 1000.00 to INV-2026-0041 and 845.50 to INV-2026-0057
    response = send("api/post_payment")

    # Then the payment is stored fully applied
    assert response.status == 201
    assert (response.body["amount"], response.body["unapplied_amount"]) == ("1845.50", "0.00")
    payment = services.ledger.store.records(ACME).payments[0]
    assert (payment.payment_id, payment.unapplied_amount) == ("SEPA-20260302-0918", Decimal(0))
    # And the partly paid invoice stays open, the fully paid one is paid
    partly = services.ledger.store.invoice(ACME, "INV-2026-0041")
    fully = services.ledger.store.invoice(ACME, "INV-2026-0057")
    assert (partly.open_amount, partly.status) == (Decimal("200.00"), InvoiceStatus.OPEN)
    assert (fully.open_amount, fully.status) == (Decimal("0.00"), InvoiceStatus.PAID)
    assert actions(services, ACME)[-1] == "payment.recorded"
    assert services.audit.verify().breaks == []


def test_allocation_beyond_the_open_amount_names_the_field_and_stores_nothing(
    services: Services,
) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()
    payment = {
        **body_of("api/post_payment"),
        "amount": "1500.00",
        "allocations": [{"invoice_number": "INV-2026-0041", "amount": "1300.00"}],
    }

    # When a payment tries to apply more than INV-2026-0041's 1200.00
    response = call(request("POST", f"/accounts/{ACME}/payments", payment))

    # Then the allocation is named, and neither payment nor invoice changed
    assert response.status == 400
    assert response.body["fields"][0]["field"] == "allocations[0].amount"
    assert services.ledger.store.records(ACME).payments == []
    assert services.ledger.store.invoice(ACME, "INV-2026-0041").open_amount == Decimal("1200.00")
    assert "payment.recorded" not in actions(services, ACME)


def test_allocations_beyond_the_payment_amount_are_refused(services: Services) -> None:
    # Given the sample invoices are stored
    given_the_sample_invoices()
    payment = {**body_of("api/post_payment"), "amount": "1000.00"}

    # When the allocations add up to more than the payment
    response = call(request("POST", f"/accounts/{ACME}/payments", payment))

    # Then the allocations are named
    assert response.status == 422
    assert response.body["fields"][0]["field"] == "allocations"
    assert services.ledger.store.records(ACME).payments == []


def test_payment_to_an_unknown_account_is_not_found(services: Services) -> None:
    # When a payment is posted for an account that does not exist
    response = call(request("POST", "/accounts/INITECH/payments", body_of("api/post_payment")))

    # Then the account is not found
    assert response.status == 404
    assert response.body["error"] == "not_found"


# Accounts


def test_create_account_stores_it_at_version_one_and_audits_the_caller(
    services: Services,
) -> None:
    # When the sample account is posted
    response = send("api/post_account")

    # Then it is stored as sent, at version 1, and the creation is audited under the caller
    assert response.status == 201
    assert (response.body["account_id"], response.body["version"]) == (ACME, 1)
    assert response.body["credit_limit"] == "50000.00"
    stored = services.ledger.store.account(ACME)
    assert (stored.name, stored.currency, len(stored.contacts)) == ("Acme GmbH", "EUR", 2)
    (created,) = services.audit.events(ACME)
    assert (created.action, created.actor) == ("account.created", ERP)


def test_creating_an_account_twice_conflicts(services: Services) -> None:
    # Given the account exists
    assert send("api/post_account").status == 201

    # When it is posted again
    response = send("api/post_account")

    # Then it conflicts and nothing more is audited
    assert response.status == 409
    assert response.body["error"] == "conflict"
    assert actions(services, ACME) == ["account.created"]


def test_account_with_a_bad_contact_email_names_the_field(services: Services) -> None:
    # Given an account whose second contact has no valid email
    account = body_of("api/post_account")
    account["contacts"][1]["email"] = "jonas at acme"

    # When it is posted
    response = call(request("POST", "/accounts", account))

    # Then the field is named, without echoing the value
    assert response.status == 422
    assert response.body["fields"] == [
        {"field": "contacts[1].email", "reason": "is not an email address"}
    ]
    assert "jonas" not in response.text


def test_update_at_the_current_version_stores_the_profile(services: Services) -> None:
    # Given the account at version 1
    assert send("api/post_account").status == 201

    # When the sample update (payment terms 30 -> 14) is sent at version 1
    response = send("api/put_account")

    # Then it is stored at version 2 and the changed field is audited
    assert response.status == 200
    assert (response.body["version"], response.body["payment_terms_days"]) == (2, 14)
    assert services.ledger.store.account(ACME).payment_terms_days == 14
    updated = services.audit.events(ACME)[-1]
    assert (updated.action, updated.inputs["changed"]) == (
        "account.updated",
        ["payment_terms_days"],
    )


def test_update_at_a_stale_version_conflicts_and_changes_nothing(services: Services) -> None:
    # Given the account was already updated to version 2
    assert send("api/post_account").status == 201
    assert send("api/put_account").status == 200
    stale = {**body_of("api/put_account"), "payment_terms_days": 60}

    # When another update is sent still at version 1
    response = call(request("PUT", f"/accounts/{ACME}", stale))

    # Then it conflicts and the stored account is unchanged
    assert response.status == 409
    assert "version" in response.body["message"]
    stored = services.ledger.store.account(ACME)
    assert (stored.version, stored.payment_terms_days) == (2, 14)


def test_updating_an_unknown_account_is_not_found(services: Services) -> None:
    # When an account that does not exist is updated
    response = call(request("PUT", "/accounts/INITECH", body_of("api/put_account")))

    # Then it is not found
    assert response.status == 404


def test_contact_is_added_then_replaced_under_its_path(services: Services) -> None:
    # Given the account with two contacts
    assert send("api/post_account").status == 201

    # When the sample contact is put, then put again with a new email
    added = send("api/put_contact")
    changed = {**body_of("api/put_contact"), "email": "mia.schulz@acme.example"}
    replaced = call(request("PUT", f"/accounts/{ACME}/contacts/ar-clerk", changed))

    # Then the account holds it once, with the new email, one version per change
    assert (added.status, replaced.status) == (200, 200)
    stored = services.ledger.store.account(ACME)
    assert [c.contact_id for c in stored.contacts] == ["ap", "cfo", "ar-clerk"]
    clerk = stored.contact("ar-clerk")
    assert clerk is not None
    assert clerk.email == "mia.schulz@acme.example"
    assert stored.version == 3
    assert actions(services, ACME) == ["account.created", "account.updated", "account.updated"]


def test_contact_naming_another_id_in_its_body_is_refused(services: Services) -> None:
    # Given the account
    assert send("api/post_account").status == 201
    contact = {**body_of("api/put_contact"), "contact_id": "someone-else"}

    # When the body names another contact than the path
    response = call(request("PUT", f"/accounts/{ACME}/contacts/ar-clerk", contact))

    # Then it is refused and the account is unchanged
    assert response.status == 400
    assert response.body["fields"][0]["field"] == "contact_id"
    assert services.ledger.store.account(ACME).version == 1


# Reading an account and its trail


def test_account_overview_ages_open_invoices_on_the_simulated_clock(
    services: Services, clock: SimulatedClock
) -> None:
    # Given ACME's two sample invoices, due 2026-02-04 (1200.00) and 2026-03-12 (845.50)
    given_the_sample_invoices()

    # When the account is read on 2026-03-02 and again 40 days later
    today = send("api/get_account")
    clock.advance(timedelta(days=40))
    later = send("api/get_account")

    # Then the buckets move with the clock, every amount a string at two decimals
    assert today.status == later.status == 200
    zero = "0.00"
    assert today.body["aging"] == {
        "current": "845.50",
        "1-30": "1200.00",
        "31-60": zero,
        "61-90": zero,
        "90+": zero,
    }
    assert later.body["aging"] == {
        "current": zero,
        "1-30": "845.50",
        "31-60": zero,
        "61-90": "1200.00",
        "90+": zero,
    }
    assert today.body["balances"] == {
        "open": "2045.50",
        "overdue": "1200.00",
        "unapplied_credit": zero,
    }
    assert later.body["balances"]["overdue"] == "2045.50"


def test_account_overview_shows_profile_open_invoices_and_timeline_newest_first(
    services: Services,
) -> None:
    # Given ACME's sample invoices, one of them paid by the sample payment
    given_the_sample_invoices()
    assert send("api/post_payment").status == 201

    # When the account is read
    overview = send("api/get_account").body

    # Then it shows the profile, what is still open, and what happened, newest first
    assert overview["account"]["account_id"] == ACME
    assert overview["next_review_at"] == overview["account"]["next_review_at"]
    assert [(i["number"], i["open_amount"]) for i in overview["open_invoices"]] == [
        ("INV-2026-0041", "200.00")
    ]
    assert overview["balances"]["open"] == "200.00"
    assert overview["open_cases"] == []
    assert [e["action"] for e in overview["timeline"]] == [
        "payment.recorded",
        "invoice.created",
        "invoice.created",
        "account.created",
    ]
    newest = overview["timeline"][0]
    assert set(newest) == {"sequence", "at", "actor", "action", "inputs", "rationale", "outcome"}
    assert newest["actor"] == {"kind": "integrator", "id": ERP_ROLE}
    assert newest["inputs"]["allocations"] == {
        "INV-2026-0041": "1000.00",
        "INV-2026-0057": "845.50",
    }


def test_credit_and_cash_not_yet_applied_show_as_unapplied_credit(services: Services) -> None:
    # Given ACME's invoices, a credit note naming no invoice, a payment with no allocations
    given_the_sample_invoices()
    credit_note = {**body_of("api/post_credit_note"), "invoice_number": None, "amount": "150"}
    payment = {**body_of("api/post_payment"), "amount": 99.9, "allocations": []}
    assert call(request("POST", f"/accounts/{ACME}/credit-notes", credit_note)).status == 201
    assert call(request("POST", f"/accounts/{ACME}/payments", payment)).status == 201

    # When the account is read
    balances = send("api/get_account").body["balances"]

    # Then both count as unapplied credit, and the invoices stay fully open
    assert balances == {"open": "2045.50", "overdue": "1200.00", "unapplied_credit": "249.90"}


def test_reading_an_unknown_account_is_not_found(services: Services) -> None:
    # When an account that does not exist is read
    response = call(request("GET", "/accounts/INITECH"))

    # Then it is not found, in the common error shape
    assert response.status == 404
    assert response.body == {
        "error": "not_found",
        "message": "account INITECH not found",
        "fields": [],
    }


def test_audit_trail_reads_back_as_a_verifiable_chain(services: Services) -> None:
    # Given ACME's account and invoices
    given_the_sample_invoices()

    # When its audit trail is read
    response = send("api/get_audit")

    # Then the events come in order, each linked to the one before
    assert response.status == 200
    events = response.body["events"]
    assert [e["sequence"] for e in events] == [1, 2, 3]
    assert events[0]["prev_hash"] == GENESIS_HASH
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert response.body["next_after"] is None
    # And the hashes still hold for what the API returned
    returned = [AuditEvent.model_validate(e).model_dump() for e in events]
    assert verify_chain(ACME, returned) is None


def test_audit_trail_pages_with_after_and_limit(services: Services) -> None:
    # Given ACME's three audit events
    given_the_sample_invoices()

    # When it is read two at a time
    first = call(request("GET", f"/accounts/{ACME}/audit", query={"limit": "2"}))
    after = str(first.body["next_after"])
    second = call(request("GET", f"/accounts/{ACME}/audit", query={"after": after, "limit": "2"}))

    # Then the pages follow each other and the last one says so
    assert [e["sequence"] for e in first.body["events"]] == [1, 2]
    assert [e["sequence"] for e in second.body["events"]] == [3]
    assert second.body["next_after"] is None


def test_audit_page_larger_than_500_is_refused(services: Services) -> None:
    # When more than 500 events are asked for at once
    response = call(request("GET", f"/accounts/{ACME}/audit", query={"limit": "501"}))

    # Then the query parameter is named
    assert response.status == 422
    assert response.body["fields"][0]["field"] == "limit"


# Callers and the error contract


@pytest.mark.parametrize(
    ("identity", "actor_id"),
    [
        pytest.param(
            {"caller": "AROAEXAMPLE:nightly", "accessKey": "ASIAX"}, "AROAEXAMPLE:nightly"
        ),
        pytest.param({"accessKey": "ASIAEXAMPLEKEY"}, "ASIAEXAMPLEKEY"),
        pytest.param({}, "integrator"),
    ],
)
def test_actor_falls_back_from_user_arn_to_caller_to_access_key(
    services: Services, identity: dict[str, Any], actor_id: str
) -> None:
    # When an account is created by a caller API Gateway identified only partly
    response = send("api/post_account", identity={"sourceIp": "203.0.113.9", **identity})

    # Then the audit trail names the best identity available
    assert response.status == 201
    (created,) = services.audit.events(ACME)
    assert created.actor == Actor(kind=ActorKind.INTEGRATOR, id=actor_id)


def test_malformed_json_is_a_bad_request(services: Services) -> None:
    # When the body is cut off mid-document
    response = call(request("POST", "/invoices/batch", '{"invoices": [{"number": "A-1",'))

    # Then it is refused as malformed, pointing at the body
    assert response.status == 400
    assert response.body["error"] == "malformed_json"
    assert response.body["fields"][0]["field"] == "body"


def test_unknown_route_is_not_found_in_the_common_shape(services: Services) -> None:
    # When a path the API does not have is requested
    response = call(request("GET", "/customers"))

    # Then it is a 404 with the common error body
    assert response.status == 404
    assert response.body["error"] == "not_found"


def test_unexpected_failure_is_a_generic_500(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the ledger fails in a way nobody planned for
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("table scan exploded near ap@acme.example")

    monkeypatch.setattr(services.ledger, "view", broken)

    # When an account is read
    response = send("api/get_account")

    # Then the caller gets a generic error that leaks nothing
    assert response.status == 500
    assert response.body["error"] == "internal_error"
    assert "exploded" not in response.text
    assert "acme.example" not in response.text


def test_response_that_breaks_its_own_model_is_a_500_not_the_callers_fault(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the ledger answers with something that is not an account
    monkeypatch.setattr(services.ledger, "create_account", lambda *_: {"account_id": ACME})

    # When an account is created
    response = send("api/post_account")

    # Then the caller is not told its request was invalid
    assert response.status == 500
    assert response.body["error"] == "internal_error"


def test_stored_invoices_are_counted_in_the_business_metric(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two accounts
    given_two_accounts()
    capsys.readouterr()

    # When the sample batch is stored
    assert send("api/post_invoice_batch").status == 201

    # Then one invoices_created datapoint of 4 is published in the Embedded Metric Format
    published = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert [m["invoices_created"] for m in published] == [[4.0]]
    assert published[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "autoar"


def test_missing_setting_fails_the_invocation_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function deployed without its ledger table name
    for name in ("LEDGER_TABLE_NAME", "AUDIT_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INBOX_BUCKET_NAME", "autoar-inbox")
    monkeypatch.setenv("REVIEW_SHARDS", "4")
    services_module.use(None)

    # When it is invoked, then it fails before any route runs, naming what is missing
    with pytest.raises(ConfigurationError, match="LEDGER_TABLE_NAME"):
        send("api/get_account")
