"""The ledger service on moto: every change stored with its audit event, or nothing at all."""

from decimal import Decimal

import pytest

from shared.errors import Conflict, InvalidInput
from shared.ledger.models import InvoiceStatus, NewCreditNote
from shared.ledger.service import Ledger
from tests.factories import invoice, payment, profile


@pytest.fixture
def ledger(services):
    services.ledger.create_account("ACME", profile(), actor_for_setup())
    return services.ledger


def actor_for_setup():
    from shared.audit.models import Actor, ActorKind

    return Actor(kind=ActorKind.SYSTEM, id="test-setup")


def audit_actions(services, account_id):
    return [event.action for event in services.audit.events(account_id)]


def test_a_batch_is_stored_with_one_chained_audit_event_per_invoice(services, ledger, integrator):
    ledger.create_account("GLOBEX", profile("Globex", "USD"), integrator)
    batch = [invoice(f"INV-{n}") for n in range(60)] + [
        invoice("G-1", account_id="GLOBEX", currency="USD", amount="99.99")
    ]

    ledger.create_invoices(batch, integrator)

    assert len(ledger.store.records("ACME").invoices) == 60
    assert ledger.store.invoice("GLOBEX", "G-1").open_amount == Decimal("99.99")
    assert audit_actions(services, "ACME").count("invoice.created") == 60
    report = services.audit.verify()
    assert report.intact
    assert report.events == 63


def test_a_batch_with_one_bad_invoice_stores_nothing(services, ledger, integrator):
    batch = [invoice("INV-1"), invoice("INV-2", account_id="NOBODY"), invoice("INV-3")]

    with pytest.raises(InvalidInput) as refused:
        ledger.create_invoices(batch, integrator)

    assert refused.value.field == "invoices[1].account_id"
    assert ledger.store.records("ACME").invoices == []
    assert audit_actions(services, "ACME") == ["account.created"]


def test_a_batch_refused_midway_by_a_concurrent_writer_is_withdrawn_and_audited(
    services, ledger, integrator, monkeypatch, clock
):
    batch = [invoice(f"INV-{n}") for n in range(100)]
    other_writer = Ledger(ledger.store, services.audit, clock)
    checked = ledger._check_new_invoices

    def check_then_lose_the_race(invoices):
        checked(invoices)
        other_writer.create_invoices([batch[-1]], integrator)

    monkeypatch.setattr(ledger, "_check_new_invoices", check_then_lose_the_race)

    with pytest.raises(Conflict, match="invoice INV-99 of account ACME is new"):
        ledger.create_invoices(batch, integrator)

    assert [i.number for i in ledger.store.records("ACME").invoices] == ["INV-99"]
    events = services.audit.events("ACME")
    created = {e.inputs["number"] for e in events if e.action == "invoice.created"}
    withdrawn = {e.inputs["number"] for e in events if e.action == "invoice.withdrawn"}
    assert withdrawn == created - {"INV-99"}
    assert len(withdrawn) > 0
    assert services.audit.verify().intact


def test_a_payment_reduces_open_amounts_and_pays_off_invoices(services, ledger, integrator):
    ledger.create_invoices([invoice("INV-1", amount="100.00"), invoice("INV-2")], integrator)

    stored = ledger.record_payment(
        "ACME", payment("P-1", "250.00", ("INV-1", "100.00"), ("INV-2", "150.00")), integrator
    )

    assert stored.unapplied_amount == Decimal("0.00")
    assert ledger.store.invoice("ACME", "INV-1").status is InvoiceStatus.PAID
    assert ledger.store.invoice("ACME", "INV-2").open_amount == Decimal("1050.00")
    assert len(ledger.store.records("ACME").allocations) == 2


def test_a_payment_cannot_take_more_than_an_invoice_has_open(services, ledger, integrator):
    ledger.create_invoices([invoice("INV-1", amount="100.00")], integrator)

    with pytest.raises(InvalidInput) as refused:
        ledger.record_payment("ACME", payment("P-1", "150.00", ("INV-1", "150.00")), integrator)

    assert refused.value.field == "allocations[0].amount"
    assert ledger.store.records("ACME").payments == []


def test_recording_the_same_payment_twice_is_a_conflict_and_applies_once(ledger, integrator):
    ledger.create_invoices([invoice("INV-1", amount="100.00")], integrator)
    ledger.record_payment("ACME", payment("P-1", "40.00", ("INV-1", "40.00")), integrator)

    with pytest.raises(Conflict, match="payment P-1 already exists"):
        ledger.record_payment("ACME", payment("P-1", "40.00", ("INV-1", "40.00")), integrator)

    assert ledger.store.invoice("ACME", "INV-1").open_amount == Decimal("60.00")


def test_a_credit_note_reduces_the_invoice_it_names(ledger, integrator, clock):
    ledger.create_invoices([invoice("INV-1", amount="100.00")], integrator)
    note = NewCreditNote(
        number="CN-1",
        issue_date=clock.now().date(),
        currency="EUR",
        amount="130.00",
        reason="damaged goods",
        invoice_number="INV-1",
    )

    stored = ledger.record_credit_note("ACME", note, integrator)

    assert ledger.store.invoice("ACME", "INV-1").status is InvoiceStatus.PAID
    assert stored.unapplied_amount == Decimal("30.00")
    assert ledger.view("ACME").unapplied_credit == Decimal("30.00")


def test_only_an_untouched_open_invoice_can_be_voided(ledger, integrator):
    ledger.create_invoices([invoice("INV-1", amount="100.00"), invoice("INV-2")], integrator)
    ledger.record_payment("ACME", payment("P-1", "10.00", ("INV-2", "10.00")), integrator)

    voided = ledger.void_invoice("ACME", "INV-1", "raised in error", integrator)

    assert voided.status is InvoiceStatus.VOID
    assert ledger.store.invoice("ACME", "INV-1").open_amount == Decimal("0.00")
    with pytest.raises(Conflict, match="issue a credit note"):
        ledger.void_invoice("ACME", "INV-2", "raised in error", integrator)


def test_a_stale_account_update_is_refused(services, ledger, integrator):
    ledger.update_account("ACME", profile(name="Acme AG"), expected_version=1, actor=integrator)

    with pytest.raises(Conflict, match="at version 2, not 1"):
        ledger.update_account("ACME", profile(name="Acme SE"), expected_version=1, actor=integrator)

    assert ledger.store.account("ACME").name == "Acme AG"
    assert audit_actions(services, "ACME")[-1] == "account.updated"


def test_new_invoices_put_the_account_in_front_of_the_sweep(services, ledger, integrator, clock):
    from shared.ledger.keys import review_shard

    ledger.create_invoices([invoice("INV-1")], integrator)

    shard = int(review_shard("ACME", services.settings.review_shards).removeprefix("REVIEW#"))
    assert ledger.store.due_for_review(shard, clock.now()) == ["ACME"]


def test_the_account_view_ages_open_items_on_the_clock(ledger, integrator, clock):
    ledger.create_invoices(
        [
            invoice("OLD", issued=clock.now().date().replace(month=1), amount="10.00"),
            invoice("NEW", issued=clock.now().date(), amount="20.00"),
        ],
        integrator,
    )

    view = ledger.view("ACME")

    assert view.aging["current"] == Decimal("20.00")
    assert view.aging["1-30"] == Decimal("10.00")
    assert view.overdue_balance == Decimal("10.00")
    assert view.timeline[0].action == "invoice.created"


def test_a_contact_address_leads_back_to_its_account(ledger, integrator):
    from tests.factories import contact

    ledger.save_contact("ACME", contact("billing", email="Billing@Acme.example"), integrator)
    assert ledger.store.accounts_by_email("billing@acme.example") == ["ACME"]

    ledger.update_account("ACME", profile(contacts=[]), expected_version=2, actor=integrator)
    assert ledger.store.accounts_by_email("billing@acme.example") == []
