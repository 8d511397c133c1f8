"""An approver in a real browser: the emailed link opens the approval page on the local runtime,
Approve is clicked, and the execution carries the write-off out in the approver's name.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright's own driver; no browser is
downloaded. The account and the invoice go in through the integrator API over HTTP.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from playwright.sync_api import Browser, sync_playwright

from events import load
from functions.approvals.pages import SECURITY_HEADERS
from infra.local.runtime import LocalRuntime, running
from infra.manifest import APPROVAL_STATE_MACHINE
from shared.actions.models import ActionKind, WriteOff
from shared.approvals.ids import approval_id_for
from shared.approvals.models import ApprovalRequest, Evidence
from shared.audit.models import Actor, ActorKind
from shared.policy.source import PolicySource

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's Chromium at {CHROMIUM}"),
]

ACCOUNT = "ACME-GMBH"
RATIONALE = "The administrator's notice says unsecured creditors will receive nothing."
T = TypeVar("T")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    # Started per test, after the offline fixture, whose environment the runtime then replaces.
    with running(tmp_path, smtp=False) as started:
        yield started


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_an_approver_approves_a_write_off_in_the_browser(
    runtime: LocalRuntime, browser: Browser
) -> None:
    # Given an account and an open invoice, posted through the integrator API
    api = runtime.api_url
    account = json.loads(load("api/post_account")["body"])
    invoice = json.loads(load("api/post_invoice")["body"])
    http("POST", f"{api}/accounts", account)
    http("POST", f"{api}/accounts/{ACCOUNT}/invoices", invoice)
    # And a write-off of it that the policy reserves for a person, put to the approval gate
    approval = request_write_off(runtime, invoice["number"], Decimal(invoice["amount"]))

    # When the execution emails the approver
    message = eventually(runtime.outbox.flush)
    assert message, "no approval email reached the outbox"
    link = approval_link(message[0], api)

    # And they open the link in a browser
    page = browser.new_page()
    opened = page.goto(link)

    # Then the page shows the account, the amount and the agent's reasons, with its headers
    assert opened is not None
    assert opened.status == 200
    for name, value in SECURITY_HEADERS.items():
        assert opened.headers[name.lower()] == value
    shown = page.locator("main").inner_text()
    assert "Acme GmbH (ACME-GMBH)" in shown
    assert "2,310.40 EUR" in shown
    assert RATIONALE in shown
    assert "<b>" in shown, "evidence markup is shown as text"

    # When they comment and click Approve
    page.get_by_label("Comment").fill("Agreed; the notice is on file.")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Approve").click()

    # Then the browser shows the confirmation, posted to the page's path without the query
    confirmed = navigation.value
    assert confirmed is not None
    assert confirmed.status == 200
    assert confirmed.request.method == "POST"
    assert confirmed.url == f"{api}/approvals/{approval.approval_id}"
    assert page.locator("h1").inner_text() == "Approved"

    # And the execution succeeds, having written the invoice off
    execution = succeeded(runtime, approval.approval_id)
    assert json.loads(execution["output"])["result"] == {"outcome": "performed"}
    overview = http("GET", f"{api}/accounts/{ACCOUNT}")
    assert overview["open_invoices"] == []
    assert overview["balances"]["open"] == "0.00"
    # And the trail says who approved it, how, and that the write-off was done in their name
    approver = Actor(kind=ActorKind.APPROVER, id="ar-lead@example.com").model_dump(mode="json")
    trail = http("GET", f"{api}/accounts/{ACCOUNT}/audit")["events"]
    decided = next(event for event in trail if event["action"] == "approval.decided")
    assert (decided["actor"], decided["inputs"]["via"]) == (approver, "link")
    assert decided["rationale"] == "Agreed; the notice is on file."
    assert trail[-1]["action"] == "write_off.performed"
    assert trail[-1]["actor"] == approver

    # When the link is opened again
    reopened = page.goto(link)

    # Then the page says it was already approved, and by whom
    assert reopened is not None
    assert reopened.status == 409
    assert "Already approved" in page.locator("h1").inner_text()
    assert "ar-lead@example.com" in page.locator("main").inner_text()


def request_write_off(runtime: LocalRuntime, number: str, amount: Decimal) -> ApprovalRequest:
    """Put a write-off of the whole invoice to the approvers the runtime's policy names for it."""
    assert runtime.services is not None
    policy = PolicySource(runtime.environment["POLICY_SOURCE"]).current()
    rule = policy.approval_for(ActionKind.WRITE_OFF, amount, "EUR")
    assert rule is not None, "the policy lets the agent write this off alone"
    decision_id = f"e2e-write-off-{number}"
    return runtime.services.approvals().request(
        ApprovalRequest(
            approval_id=approval_id_for(decision_id),
            decision_id=decision_id,
            account_id=ACCOUNT,
            account_name="Acme GmbH",
            action=WriteOff(
                account_id=ACCOUNT,
                invoice_number=number,
                currency="EUR",
                amount=amount,
                reason="Customer insolvent",
            ),
            rationale=RATIONALE,
            evidence=[Evidence(label="Administrator's notice", detail="Dividend: <b>nil</b>")],
            policy_version=policy.version,
            policy_rule=rule.name,
            approvers=rule.approvers,
            hours_per_approver=rule.hours_per_approver,
            requested_by=Actor(kind=ActorKind.AGENT, id="decide"),
            requested_at=runtime.clock.now(),
        )
    )


def approval_link(eml: Path, api_url: str) -> str:
    """The approval link in the text part of an email the runtime wrote to its outbox."""
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(re.escape(api_url) + r"/approvals/\S+", body.get_content())
    assert found, "the email carries no approval link"
    return found.group(0)


def succeeded(runtime: LocalRuntime, approval_id: str) -> dict[str, Any]:
    machine = runtime.environment[APPROVAL_STATE_MACHINE.env_var]
    arn = machine.replace(":stateMachine:", ":execution:") + f":{approval_id}"
    stepfunctions = boto3.client("stepfunctions")

    def finished() -> dict[str, Any] | None:
        execution = stepfunctions.describe_execution(executionArn=arn)
        return None if execution["status"] == "RUNNING" else dict(execution)

    execution = eventually(finished)
    assert execution is not None, "the execution is still running"
    assert execution["status"] == "SUCCEEDED"
    return execution


def http(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def eventually(check: Callable[[], T], seconds: float = 30.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
