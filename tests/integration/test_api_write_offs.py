"""Write-offs through the integrator API: within policy at once, above it through approval."""

from decimal import Decimal

import pytest

from shared.ledger.models import InvoiceStatus
from tests.factories import invoice, payment, profile
from tests.integration.api_requests import call, request
from tests.integration.conftest import (
    FIRST,
    emails_to,
    eventually,
    execution_arn,
    finished_execution,
)


@pytest.fixture
def aws(step_functions_aws):
    return step_functions_aws


@pytest.fixture
def acme(services, integrator):
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_invoices(
        [invoice("SMALL", amount="100.00"), invoice("BIG", amount="1200.00")], integrator
    )
    services.ledger.record_payment("ACME", payment("P-1", "70.00", ("SMALL", "70.00")), integrator)
    return services


def write_off(number: str, amount: str, **changes):
    body = {"invoice_number": number, "amount": amount, "reason": "not worth pursuing"}
    return call(request("POST", "/accounts/ACME/write-offs", body, **changes))


def test_a_write_off_within_the_agents_authority_is_done_at_once(acme):
    answer = write_off("SMALL", "30.00")

    assert answer.status == 202
    assert answer.body["status"] == "performed"
    assert answer.body["policy_version"] == "test-1"
    assert acme.ledger.store.invoice("ACME", "SMALL").status is InvoiceStatus.PAID
    assert acme.audit.events("ACME")[-1].action == "write_off.performed"


def test_a_write_off_above_the_threshold_waits_for_the_approver_then_happens(acme):
    answer = write_off("BIG", "1200.00")

    assert answer.body["status"] == "awaiting_approval"
    assert answer.body["policy_rule"] == "write-offs from 50 EUR"
    approval_id = answer.body["approval_id"]
    assert acme.ledger.store.invoice("ACME", "BIG").open_amount == Decimal("1200.00")
    assert eventually(lambda: emails_to(FIRST))

    listed = call(request("GET", "/approval-requests"))
    assert [a["approval_id"] for a in listed.body["approvals"]] == [approval_id]
    assert listed.body["approvals"][0]["waiting_for"] == FIRST
    assert "token" not in listed.text.lower()

    decided = call(
        request(
            "POST",
            f"/approval-requests/{approval_id}/decision",
            {"approver": FIRST, "decision": "approve", "comment": "agreed"},
        )
    )

    assert decided.status == 200
    assert decided.body["status"] == "approved"
    assert finished_execution(execution_arn(approval_id))["status"] == "SUCCEEDED"
    assert acme.ledger.store.invoice("ACME", "BIG").status is InvoiceStatus.PAID
    performed = [e for e in acme.audit.events("ACME") if e.action == "write_off.performed"]
    assert performed[-1].inputs["approval"]["approver"] == FIRST


def test_asking_twice_for_the_same_write_off_is_one_approval(acme):
    first = write_off("BIG", "1200.00")
    second = write_off("BIG", "1200.00")

    assert first.body["approval_id"] == second.body["approval_id"]
    assert len(call(request("GET", "/approval-requests")).body["approvals"]) == 1


def test_a_write_off_of_less_than_is_open_is_refused(acme):
    answer = write_off("BIG", "1000.00")

    assert answer.status == 409
    assert "1200.00 EUR open" in answer.body["message"]
    assert call(request("GET", "/approval-requests")).body["approvals"] == []


def test_someone_the_approval_is_not_waiting_for_cannot_decide_it(acme):
    approval_id = write_off("BIG", "1200.00").body["approval_id"]
    eventually(lambda: emails_to(FIRST))

    answer = call(
        request(
            "POST",
            f"/approval-requests/{approval_id}/decision",
            {"approver": "intruder@example.com", "decision": "approve"},
        )
    )

    assert answer.status == 409
    assert acme.ledger.store.invoice("ACME", "BIG").open_amount == Decimal("1200.00")
