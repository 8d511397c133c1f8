"""Performing an action re-checks what it was proposed on and audits who let it happen."""

from decimal import Decimal

import pytest

from shared.actions.models import WriteOff
from shared.actions.perform import Approval, Performer, PreconditionFailed
from shared.audit.models import Actor, ActorKind
from shared.ledger.models import InvoiceStatus
from tests.factories import invoice, payment, profile

APPROVER = Actor(kind=ActorKind.APPROVER, id="controller@example.com")


@pytest.fixture
def ledger(services, integrator):
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_invoices([invoice("INV-1", amount="100.00")], integrator)
    services.ledger.record_payment("ACME", payment("P-1", "97.00", ("INV-1", "97.00")), integrator)
    return services.ledger


def write_off(amount: str = "3.00") -> WriteOff:
    return WriteOff(
        account_id="ACME",
        invoice_number="INV-1",
        currency="EUR",
        amount=amount,
        reason="short payment not worth pursuing",
    )


def test_an_approved_write_off_clears_the_invoice_and_names_the_approver(services, ledger):
    approval = Approval("apr-1", APPROVER.id, "fine")

    Performer(ledger).perform(write_off(), APPROVER, "residual under 5 EUR", approval, "v1")

    stored = ledger.store.invoice("ACME", "INV-1")
    assert stored.status is InvoiceStatus.PAID
    assert stored.open_amount == Decimal("0.00")
    event = services.audit.events("ACME")[-1]
    assert event.action == "write_off.performed"
    assert event.inputs["approval"] == {
        "approval_id": "apr-1",
        "approver": APPROVER.id,
        "comment": "fine",
    }
    assert event.policy_version == "v1"
    assert services.audit.verify().intact


def test_a_write_off_whose_invoice_moved_is_not_performed(services, ledger, integrator):
    ledger.record_payment("ACME", payment("P-2", "1.00", ("INV-1", "1.00")), integrator)
    events_before = len(services.audit.events("ACME"))

    with pytest.raises(PreconditionFailed, match=r"has 2\.00 EUR open"):
        Performer(ledger).perform(write_off("3.00"), APPROVER, "residual")

    assert ledger.store.invoice("ACME", "INV-1").open_amount == Decimal("2.00")
    assert len(services.audit.events("ACME")) == events_before


def test_performing_twice_writes_off_once(ledger):
    performer = Performer(ledger)
    performer.perform(write_off(), APPROVER, "residual")

    with pytest.raises(PreconditionFailed, match="paid"):
        performer.perform(write_off(), APPROVER, "residual")

    allocations = ledger.store.records("ACME").allocations
    assert sum(1 for a in allocations if a.source.value == "write_off") == 1
