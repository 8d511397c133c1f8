"""`autoar audit verify` against stored chains: tampering anywhere is found and named."""

import boto3
import pytest

from infra.cli import main
from shared.dynamodb import serialize
from tests.factories import invoice, profile

_TAMPERABLE = [
    "action",
    "rationale",
    "outcome",
    "at",
    "actor",
    "inputs",
    "prev_hash",
    "hash",
    "chain",
    "policy_version",
    "model",
]


@pytest.fixture
def trail(services, integrator):
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_account("GLOBEX", profile("Globex"), integrator)
    services.ledger.create_invoices([invoice(f"INV-{n}") for n in range(4)], integrator)
    return services


def tamper(table: str, account: str, sequence: int, field: str, value) -> None:
    dynamodb = boto3.client("dynamodb")
    key = serialize({"PK": f"ACCOUNT#{account}", "sequence": sequence})
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #f = :v",
        ExpressionAttributeNames={"#f": field},
        ExpressionAttributeValues=serialize({":v": value}),
    )


def test_an_untouched_trail_verifies(trail, capsys):
    assert main(["audit", "verify"]) == 0
    assert "2 chains, 6 events checked, intact" in capsys.readouterr().out


@pytest.mark.parametrize("field", _TAMPERABLE)
def test_changing_any_field_of_a_stored_event_fails_and_names_it(trail, capsys, field):
    tamper(trail.settings.audit_table, "ACME", 3, field, {"forged": "yes"})

    assert main(["audit", "verify"]) == 1

    out = capsys.readouterr().out
    assert "BROKEN chain ACME: event 3:" in out
    assert "GLOBEX" not in out.split("audit trail:")[0]


def test_a_deleted_event_is_named_by_its_position(trail, capsys):
    boto3.client("dynamodb").delete_item(
        TableName=trail.settings.audit_table,
        Key=serialize({"PK": "ACCOUNT#ACME", "sequence": 2}),
    )

    assert main(["audit", "verify", "--account", "ACME"]) == 1
    assert "chain ACME: event 2: expected event 2 here, found 3" in capsys.readouterr().out


def test_verify_needs_to_know_which_table(trail, monkeypatch, capsys):
    monkeypatch.delenv("AUDIT_TABLE_NAME")

    assert main(["audit", "verify"]) == 2
    assert "--table" in capsys.readouterr().err
