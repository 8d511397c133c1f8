"""The local runtime's DynamoDB transactions keep DynamoDB's all-or-nothing semantics."""

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.dynamodb import Transaction, TransactionRefused, commit


def test_a_failed_condition_anywhere_writes_nothing_in_any_table(aws):
    client = boto3.client("dynamodb")
    ledger, audit = aws["LEDGER_TABLE_NAME"], aws["AUDIT_TABLE_NAME"]
    client.put_item(
        TableName=ledger,
        Item={"PK": {"S": "ACCOUNT#A"}, "SK": {"S": "PROFILE"}, "version": {"N": "2"}},
    )
    transaction = Transaction()
    transaction.put(ledger, {"PK": "ACCOUNT#A", "SK": "INVOICE#1"}, describe="invoice")
    transaction.put(audit, {"PK": "ACCOUNT#A", "sequence": 1}, describe="audit A#1")
    transaction.update(
        ledger,
        {"PK": "ACCOUNT#A", "SK": "PROFILE"},
        "SET version = :v",
        describe="account at version 1",
        condition="version = :expected",
        v=3,
        expected=1,
    )

    with pytest.raises(TransactionRefused) as refused:
        commit(client, transaction)

    assert refused.value.failed == ["account at version 1"]
    assert "Item" not in client.get_item(
        TableName=ledger, Key={"PK": {"S": "ACCOUNT#A"}, "SK": {"S": "INVOICE#1"}}
    )
    assert client.scan(TableName=audit)["Count"] == 0
    profile = client.get_item(
        TableName=ledger, Key={"PK": {"S": "ACCOUNT#A"}, "SK": {"S": "PROFILE"}}
    )
    assert profile["Item"]["version"] == {"N": "2"}


def test_a_write_that_fails_midway_is_rolled_back(aws):
    client = boto3.client("dynamodb")
    ledger = aws["LEDGER_TABLE_NAME"]
    transaction = Transaction()
    transaction.put(ledger, {"PK": "ACCOUNT#A", "SK": "INVOICE#1"}, describe="invoice")
    # Adding a number to a string attribute is refused only when the write is applied.
    client.put_item(
        TableName=ledger,
        Item={"PK": {"S": "ACCOUNT#A"}, "SK": {"S": "PROFILE"}, "name": {"S": "Acme"}},
    )
    transaction.update(
        ledger,
        {"PK": "ACCOUNT#A", "SK": "PROFILE"},
        "ADD #n :one",
        describe="profile",
        names={"#n": "name"},
        one=1,
    )

    with pytest.raises(ClientError):
        commit(client, transaction)

    assert "Item" not in client.get_item(
        TableName=ledger, Key={"PK": {"S": "ACCOUNT#A"}, "SK": {"S": "INVOICE#1"}}
    )


def test_the_same_item_twice_in_one_transaction_is_refused(aws):
    transaction = Transaction()
    for _ in range(2):
        transaction.put(aws["LEDGER_TABLE_NAME"], {"PK": "X", "SK": "Y"}, describe="twice")

    with pytest.raises(ClientError, match="ValidationException"):
        commit(boto3.client("dynamodb"), transaction)
