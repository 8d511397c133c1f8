"""Idempotency-Key on the integrator API: a retried POST or PUT writes once and answers the same."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from functions.api.app import app
from shared.ledger.models import Invoice, NewInvoice
from shared.services import Services
from tests.integration.api_requests import ApiResponse, body_of, call, request, send

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ACME = "ACME-GMBH"
GLOBEX = "GLOBEX-US"
BATCH_KEY = "erp-sync-2026-03-02-batch-0001"
"""The key the sample batch event carries."""


def given_two_accounts() -> None:
    assert send("api/post_account").status == 201
    assert send("api/post_account_globex").status == 201


def audit_lengths(services: Services) -> tuple[int, int]:
    return len(services.audit.events(ACME)), len(services.audit.events(GLOBEX))


def invoice_count(services: Services) -> int:
    records = (services.ledger.store.records(account) for account in (ACME, GLOBEX))
    return sum(len(r.invoices) for r in records)


def remembered_requests(services: Services) -> int:
    table = services.settings.idempotency_table
    return int(boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


def test_retried_batch_returns_the_first_response_and_stores_once(services: Services) -> None:
    # Given the sample batch was stored under its Idempotency-Key
    given_two_accounts()
    first = send("api/post_invoice_batch")
    lengths = audit_lengths(services)

    # When the very same request is retried
    retry = send("api/post_invoice_batch")

    # Then it gets the first answer byte for byte, marked as a replay
    assert first.status == retry.status == 201
    assert retry.text == first.text
    assert first.header("Idempotent-Replayed") is None
    assert retry.header("Idempotent-Replayed") == "true"
    # And nothing more was written or audited
    assert invoice_count(services) == 4
    assert audit_lengths(services) == lengths
    assert services.audit.verify().breaks == []
    assert remembered_requests(services) == 1


def test_key_is_matched_whatever_the_header_case(services: Services) -> None:
    # Given the sample batch was stored under its key
    given_two_accounts()
    assert send("api/post_invoice_batch").status == 201

    # When it is retried with the header name in lower case
    retry = send("api/post_invoice_batch", headers={"idempotency-key": BATCH_KEY})

    # Then it is recognised as the same request
    assert retry.status == 201
    assert retry.header("Idempotent-Replayed") == "true"
    assert invoice_count(services) == 4


def test_same_key_with_another_body_is_refused_and_stores_nothing(services: Services) -> None:
    # Given the sample batch was stored under its key
    given_two_accounts()
    assert send("api/post_invoice_batch").status == 201
    lengths = audit_lengths(services)
    other = copy.deepcopy(body_of("api/post_invoice_batch"))
    other["invoices"] = [{**other["invoices"][0], "number": "INV-2026-0099"}]

    # When the key is reused for a different batch
    response = send("api/post_invoice_batch", body=other)

    # Then it is refused as a reused key, and the different batch is not stored
    assert response.status == 409
    assert response.body["error"] == "idempotency_key_reused"
    assert invoice_count(services) == 4
    assert audit_lengths(services) == lengths


def test_without_a_key_a_repeat_is_processed_again(services: Services) -> None:
    # Given the sample batch was stored without a key
    given_two_accounts()
    assert send("api/post_invoice_batch", headers={"Idempotency-Key": None}).status == 201

    # When the same batch is sent again, still without a key
    again = send("api/post_invoice_batch", headers={"Idempotency-Key": None})

    # Then it is processed, and refused because the numbers now exist
    assert again.status == 400
    assert again.body["fields"][0]["field"] == "invoices[0].number"
    assert remembered_requests(services) == 0


def test_refused_request_is_not_remembered_so_the_fix_can_reuse_the_key(
    services: Services,
) -> None:
    # Given a batch under a key was refused because one account did not exist yet
    assert send("api/post_account").status == 201
    refused = send("api/post_invoice_batch")
    assert refused.status == 400

    # When the account is created and the same request is sent again under the same key
    assert send("api/post_account_globex").status == 201
    fixed = send("api/post_invoice_batch")

    # Then it runs for real this time
    assert fixed.status == 201
    assert fixed.header("Idempotent-Replayed") is None
    assert invoice_count(services) == 4


def test_same_key_on_another_route_is_a_different_request(services: Services) -> None:
    # Given the key was used to create an account
    key = {"Idempotency-Key": "shared-key-1"}
    assert send("api/post_account", headers=key).status == 201
    assert send("api/post_account_globex").status == 201

    # When the same key is sent with an invoice batch
    response = send("api/post_invoice_batch", headers=key)

    # Then the batch is processed on its own
    assert response.status == 201
    assert invoice_count(services) == 4


def test_retried_update_does_not_conflict_with_itself(services: Services) -> None:
    # Given the account was updated from version 1 under a key
    assert send("api/post_account").status == 201
    key = {"Idempotency-Key": "profile-update-7"}
    first = send("api/put_account", headers=key)

    # When the update is retried (without the key it would now be a stale version)
    retry = send("api/put_account", headers=key)

    # Then the retry gets the first answer and the account moved one version only
    assert first.status == retry.status == 200
    assert retry.body == first.body
    assert services.ledger.store.account(ACME).version == 2


def test_request_arriving_while_the_first_is_running_is_refused(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch whose storing is slow enough that the client retries meanwhile
    given_two_accounts()
    store_invoices = services.ledger.create_invoices
    retries: list[ApiResponse] = []

    def retried_while_storing(invoices: list[NewInvoice], *args: Any) -> list[Invoice]:
        # A real retry runs in another Lambda instance; this one runs inside the first request,
        # so the resolver's per-request context it clears is put back for the first to finish.
        first_context = dict(app.context)
        retries.append(send("api/post_invoice_batch"))
        app.context.update(first_context)
        return store_invoices(invoices, *args)

    monkeypatch.setattr(services.ledger, "create_invoices", retried_while_storing)

    # When the batch is posted
    first = send("api/post_invoice_batch")

    # Then the retry that overtook it was refused as in progress, and the batch stored once
    assert first.status == 201
    assert [(r.status, r.body["error"]) for r in retries] == [(409, "idempotency_key_in_progress")]
    assert invoice_count(services) == 4


def test_get_ignores_the_key(services: Services) -> None:
    # Given an account
    assert send("api/post_account").status == 201

    # When it is read twice with a key
    key = {"Idempotency-Key": "read-1"}
    reads = [call(request("GET", f"/accounts/{ACME}", headers=key)) for _ in range(2)]

    # Then both reads are served fresh and nothing is remembered
    assert [r.status for r in reads] == [200, 200]
    assert reads[1].header("Idempotent-Replayed") is None
    assert remembered_requests(services) == 0
