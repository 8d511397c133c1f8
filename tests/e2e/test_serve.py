"""`autoar serve` end to end, as a person uses it: HTTP, SMTP and a drop folder, then the trail."""

import json
import os
import re
import smtplib
import subprocess
import sys
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import boto3
import pytest

from shared.dynamodb import query_all

pytestmark = pytest.mark.e2e

_STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("serve")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    banner = _read_banner(process)
    yield banner
    process.terminate()
    assert process.wait(timeout=30) == 0
    assert "autoar serve: stopped" in process.stdout.read()


def _read_banner(process: subprocess.Popen) -> dict[str, str]:
    banner: dict[str, str] = {}
    deadline = time.monotonic() + _STARTUP_SECONDS
    while "AWS endpoint" not in banner and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.match(r"\s+(integrator API|SMTP|bank file drop|AWS endpoint)\s+(\S+)", line)
        if found:
            banner[found.group(1)] = found.group(2)
    assert "AWS endpoint" in banner, f"serve did not start: {banner}"
    return banner


def _http(method: str, url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _eventually(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _system_actions(banner: dict[str, str]) -> list[str]:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=banner["AWS endpoint"],
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    events = query_all(
        dynamodb,
        TableName="autoar-audit",
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "ACCOUNT#_system"}},
    )
    return [event["action"] for event in events]


def test_an_invoice_a_reply_and_a_bank_file_each_reach_their_handler_and_the_trail(served):
    api = served["integrator API"]
    _http(
        "POST",
        f"{api}/accounts",
        {
            "account_id": "ACME",
            "name": "Acme GmbH",
            "currency": "EUR",
            "contacts": [{"contact_id": "ap", "name": "Dana", "email": "dana@acme.example"}],
        },
    )
    _http(
        "POST",
        f"{api}/accounts/ACME/invoices",
        {
            "account_id": "ACME",
            "number": "INV-1",
            "issue_date": "2026-01-01",
            "due_date": "2026-01-31",
            "currency": "EUR",
            "amount": "1200.00",
        },
    )

    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = (
        "dana@acme.example",
        "receivables@autoar.localhost",
        "Re: INV-1",
    )
    reply.set_content("We will pay INV-1 next Friday.")
    host, port = served["SMTP"].rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=10) as smtp:
        smtp.send_message(reply)

    statement = Path(served["bank file drop"]) / "statement.xml"
    statement.write_text(
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        "<BkToCstmrStmt><GrpHdr><MsgId>E2E-1</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )

    def account_actions() -> list[str]:
        trail = _http("GET", f"{api}/accounts/ACME/audit")
        events = trail["events"] if isinstance(trail, dict) else trail
        return [event["action"] for event in events]

    actions = _eventually(lambda: "mail.received" in account_actions() and account_actions())
    assert actions[:3] == ["account.created", "invoice.created", "mail.received"]
    system = _eventually(lambda: "bank_file.received" in _system_actions(served))
    assert system, _system_actions(served)
    assert _eventually(lambda: not statement.exists())
