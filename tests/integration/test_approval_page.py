"""The public approval page through its handler, on the real approval gate and state machine.

Requests are API Gateway proxy events built as the local gateway builds them from HTTP
(infra.local.gateway.proxy_event), or the samples in events/approvals pointed at a live link.
Approvals are requested through the gate, so the state machine asks the approver first and a
decision taken on the page goes on to carry the write-off out.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin

import boto3
import pytest

from events import load
from functions.approvals.handler import lambda_handler
from functions.approvals.observability import logger
from functions.approvals.pages import SECURITY_HEADERS
from infra.local.gateway import proxy_event
from shared import services as services_module
from shared.approvals import links
from shared.approvals.keys import signing_key
from shared.approvals.links import SignedLink
from shared.approvals.models import ApprovalRequest, ApprovalStatus, Evidence
from shared.approvals.service import ApprovalGate, Requesting
from shared.approvals.settings import ApprovalSettings
from shared.approvals.store import ApprovalStore
from shared.audit.models import Actor, ActorKind, AuditEvent
from shared.clock import SimulatedClock
from shared.errors import ConfigurationError
from shared.ledger.models import InvoiceStatus
from shared.policy.source import PolicySource
from shared.services import Services
from tests.factories import invoice, profile
from tests.integration.api_requests import FakeLambdaContext
from tests.integration.conftest import (
    FIRST,
    SECOND,
    eventually,
    execution_arn,
    finished_execution,
    output_of,
    write_off_request,
)

ACME = "ACME"
OTHER_ID = "apr_test0002"
STAGE_URL = "https://k7x2m9q4ab.execute-api.eu-west-1.amazonaws.com/v1"


@pytest.fixture
def aws(step_functions_aws: dict[str, str]) -> dict[str, str]:
    return step_functions_aws


@pytest.fixture
def acme(services: Services, integrator: Actor) -> None:
    services.ledger.create_account(ACME, profile(), integrator)
    invoices = [invoice("INV-1", account_id=ACME), invoice("INV-2", account_id=ACME)]
    services.ledger.create_invoices(invoices, integrator)


@pytest.fixture
def gate(services: Services, acme: None) -> ApprovalGate:
    settings = ApprovalSettings.from_env()
    return ApprovalGate(
        ApprovalStore(services.dynamodb, services.settings.ledger_table),
        services.audit,
        services.clock,
        boto3.client("stepfunctions"),
        Requesting(settings.state_machine_arn, PolicySource(settings.policy_source)),
    )


@pytest.fixture
def key(aws: dict[str, str]) -> bytes:
    return signing_key(boto3.client("secretsmanager"), aws["APPROVAL_SIGNING_SECRET_ARN"])


@pytest.fixture
def pending(gate: ApprovalGate) -> ApprovalRequest:
    """A write-off of INV-1 whose first approver has been asked."""
    return asked(gate, write_off_request())


def asked(gate: ApprovalGate, request: ApprovalRequest) -> ApprovalRequest:
    """The approval once its execution has asked the first approver, as the email is sent."""
    gate.request(request)
    approval = eventually(lambda: _with_deadline(gate, request.approval_id))
    assert approval is not None, "the execution never asked the approver"
    return approval


def _with_deadline(gate: ApprovalGate, approval_id: str) -> ApprovalRequest | None:
    approval = gate.get(approval_id)
    return approval if approval.expires_at is not None else None


# The approver's browser, as far as the page is concerned


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, str]
    html: str

    @property
    def form(self) -> dict[str, str]:
        """The hidden fields of the page's form, as a browser would send them."""
        return _Form.read(self.html).hidden

    @property
    def form_action(self) -> str:
        return _Form.read(self.html).action


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.action = ""

    @classmethod
    def read(cls, html: str) -> _Form:
        form = cls()
        form.feed(html)
        return form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            assert attributes.get("method") == "post"
            self.action = attributes.get("action") or ""
        if tag == "input" and attributes.get("type") == "hidden":
            self.hidden[attributes["name"] or ""] = attributes.get("value") or ""


def call(event: dict[str, Any]) -> Page:
    result = lambda_handler(event, FakeLambdaContext(function_name="autoar-approvals"))
    headers = {name: values[0] for name, values in result["multiValueHeaders"].items()}
    return Page(result["statusCode"], headers, result["body"])


def browse(target: str) -> Page:
    return call(proxy_event("GET", target, {"Accept": "text/html"}, b""))


def submit(path: str, fields: dict[str, str], content_type: str | None = None) -> Page:
    headers = {"Content-Type": content_type or "application/x-www-form-urlencoded"}
    return call(proxy_event("POST", path, headers, urlencode(fields).encode()))


def link_for(approval: ApprovalRequest, approver: str = FIRST) -> SignedLink:
    """The link the approval email gives an approver: it lapses with the step's deadline."""
    assert approval.expires_at is not None
    return SignedLink(approval.approval_id, approver, int(approval.expires_at.timestamp()))


def target(link: SignedLink, key: bytes, signature: str | None = None) -> str:
    """The path and query of a link, as the approver's mail client opens it."""
    query = {
        "approver": link.approver,
        "expires": str(link.expires),
        "sig": signature or links.sign(link, key),
    }
    return f"{path(link.approval_id)}?{urlencode(query)}"


def path(approval_id: str) -> str:
    return "/approvals/" + quote(approval_id, safe="")


def decision_form(
    link: SignedLink, key: bytes, decision: str = "approve", **changes: str
) -> dict[str, str]:
    """What the page's form posts for a link, optionally changed."""
    fields = {
        "approver": link.approver,
        "expires": str(link.expires),
        "sig": links.sign(link, key),
        "csrf": links.csrf_token(link, key),
        "decision": decision,
        "comment": "",
    }
    return {**fields, **changes}


def from_sample(name: str, link: SignedLink, key: bytes) -> dict[str, Any]:
    """A stored sample event, pointed at a live link: its path, query or form fields."""
    event = load(name)
    event["path"] = path(link.approval_id)
    event["requestContext"]["path"] = "/v1" + event["path"]
    if event["queryStringParameters"]:
        query = {"approver": link.approver, "expires": str(link.expires)}
        query["sig"] = links.sign(link, key)
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    if event["body"]:
        sent = {name: values[0] for name, values in parse_qs(event["body"]).items()}
        fields = decision_form(link, key, sent["decision"], comment=sent["comment"])
        event["body"] = urlencode(fields)
        event["headers"]["Content-Length"] = str(len(event["body"]))
        event["multiValueHeaders"]["Content-Length"] = [event["headers"]["Content-Length"]]
    return event


def assert_security_headers(page: Page) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert page.headers.get(name) == value, name
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused request must leave as it was."""

    approval: ApprovalRequest
    trail: list[AuditEvent]
    execution_status: str


def snapshot(gate: ApprovalGate, services: Services, approval_id: str) -> Snapshot:
    execution = boto3.client("stepfunctions").describe_execution(
        executionArn=execution_arn(approval_id)
    )
    return Snapshot(gate.get(approval_id), services.audit.events(ACME), execution["status"])


def actions(services: Services) -> list[str]:
    return [event.action for event in services.audit.events(ACME)]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """What the function logs meanwhile (Powertools writes to the stream it found at import)."""
    handler = logger.registered_handler
    output = io.StringIO()
    previous = handler.setStream(output)  # type: ignore[attr-defined]
    try:
        yield output
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


# Showing a request


def test_the_page_shows_what_the_approver_decides_on(
    gate: ApprovalGate, pending: ApprovalRequest, key: bytes
) -> None:
    # Given a write-off whose first approver has been asked
    link = link_for(pending)

    # When they open the link from their email
    page = browse(target(link, key))

    # Then the page shows the account, the action, why, the evidence, the rule and the deadline
    assert page.status == 200
    for shown in (
        "Acme GmbH (ACME)",
        "Write-off",
        "INV-1",
        "1,200.00 EUR",
        "Customer insolvent; administrator expects no dividend",
        "Insolvency notice received; nothing paid for 210 days.",
        "Customer&#x27;s reply",
        "We are &lt;b&gt;insolvent&lt;/b&gt;.",
        "write-offs from 50 EUR (policy test-1)",
        f"<dt>Waiting for</dt><dd>{FIRST}</dd>",
        "2 March 2026, 10:00 UTC",
    ):
        assert shown in page.html, shown
    assert_security_headers(page)
    # And never the task token the execution waits on
    token = gate.store.task_token(pending.approval_id, 0)
    assert token
    assert token not in page.html


def test_the_form_posts_the_link_and_its_token_to_the_path_without_the_query(
    pending: ApprovalRequest, key: bytes
) -> None:
    # Given an approval link
    link = link_for(pending)

    # When its page is opened
    page = browse(target(link, key))

    # Then its form carries the link and a form token that is not the signature
    assert page.form == {
        "approver": FIRST,
        "expires": str(link.expires),
        "sig": links.sign(link, key),
        "csrf": links.csrf_token(link, key),
    }
    assert page.form["csrf"] != page.form["sig"]
    # And posts to the page's path, without the query, under API Gateway's stage or locally
    for served_at in (STAGE_URL, "http://127.0.0.1:8080"):
        posted_to = urljoin(served_at + target(link, key), page.form_action)
        assert posted_to == served_at + path(pending.approval_id)


def test_the_sample_event_opens_a_page(pending: ApprovalRequest, key: bytes) -> None:
    # Given the stored sample of an approver opening their link through API Gateway
    event = from_sample("approvals/get_approval", link_for(pending), key)

    # When it reaches the handler
    page = call(event)

    # Then the page is shown
    assert page.status == 200
    assert "Acme GmbH" in page.html


def test_opening_the_page_again_and_again_changes_nothing(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes
) -> None:
    # Given an asked approval, as stored, audited and awaited
    before = snapshot(gate, services, pending.approval_id)

    # When its link is opened twice, as a mail scanner and then the approver would
    pages = [browse(target(link_for(pending), key)) for _ in range(2)]

    # Then both show the page, and the approval, its trail and its execution are as they were
    assert [page.status for page in pages] == [200, 200]
    assert snapshot(gate, services, pending.approval_id) == before
    assert before.execution_status == "RUNNING"


# Deciding


def test_approving_on_the_page_carries_the_write_off_out(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes
) -> None:
    # Given the page, opened from the link
    page = browse(target(link_for(pending), key))

    # When the approver presses Approve with a comment
    fields = {**page.form, "decision": "approve", "comment": "  Agreed with the CFO.  "}
    confirmation = submit(path(pending.approval_id), fields)

    # Then the confirmation says so, without the link's secrets
    assert confirmation.status == 200
    assert "<h1>Approved</h1>" in confirmation.html
    assert "Agreed with the CFO." in confirmation.html
    assert page.form["sig"] not in confirmation.html
    assert page.form["csrf"] not in confirmation.html
    assert_security_headers(confirmation)
    # And the approval is decided once, by the approver, through the link
    decided = gate.get(pending.approval_id)
    assert (decided.status, decided.decided_by, decided.decided_via, decided.comment) == (
        ApprovalStatus.APPROVED,
        FIRST,
        "link",
        "Agreed with the CFO.",
    )
    # And the execution goes on to write the invoice off in the approver's name
    execution = finished_execution(execution_arn(pending.approval_id))
    assert execution["status"] == "SUCCEEDED"
    assert output_of(execution)["result"] == {"outcome": "performed"}
    assert services.ledger.store.invoice(ACME, "INV-1").status is InvoiceStatus.PAID
    assert actions(services).count("approval.decided") == 1
    performed = services.audit.events(ACME)[-1]
    assert performed.action == "write_off.performed"
    assert performed.actor == Actor(kind=ActorKind.APPROVER, id=FIRST)


def test_the_sample_rejection_rejects_and_leaves_the_invoice_open(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes
) -> None:
    # Given the stored sample of an approver pressing Reject, pointed at a live link
    event = from_sample("approvals/post_reject", link_for(pending), key)

    # When it reaches the handler
    page = call(event)

    # Then the approval is rejected with the approver's comment, and nothing is written off
    assert page.status == 200
    assert "<h1>Rejected</h1>" in page.html
    rejected = gate.get(pending.approval_id)
    assert (rejected.status, rejected.comment) == (
        ApprovalStatus.REJECTED,
        "Try a payment plan first.",
    )
    execution = finished_execution(execution_arn(pending.approval_id))
    assert output_of(execution)["result"] == {"outcome": "rejected"}
    assert services.ledger.store.invoice(ACME, "INV-1").open_amount == 1200


def test_a_second_press_is_refused_and_shows_who_decided_and_when(
    gate: ApprovalGate,
    services: Services,
    pending: ApprovalRequest,
    key: bytes,
    clock: SimulatedClock,
) -> None:
    # Given an approval its approver approved a quarter of an hour after being asked
    clock.advance(timedelta(minutes=15))
    fields = decision_form(link_for(pending), key)
    assert submit(path(pending.approval_id), fields).status == 200
    finished_execution(execution_arn(pending.approval_id))
    before = snapshot(gate, services, pending.approval_id)

    # When the same form is posted again (a replay), or Reject after Approve
    again = submit(path(pending.approval_id), fields)
    reversed_ = submit(path(pending.approval_id), {**fields, "decision": "reject"})

    # Then both are refused as already decided, naming who decided and when
    for page in (again, reversed_):
        assert page.status == 409
        assert "Already approved" in page.html
        assert f"by {FIRST} on 2 March 2026, 09:15 UTC" in page.html
        assert "Performed" in page.html
        assert fields["sig"] not in page.html
        assert_security_headers(page)
    # And nothing moved: one decision, one write-off
    assert snapshot(gate, services, pending.approval_id) == before
    assert actions(services).count("write_off.performed") == 1


def test_a_double_click_decides_once(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes
) -> None:
    # Given the page's form, ready to post
    fields = decision_form(link_for(pending), key)
    pages: list[Page] = []

    # When it is posted twice at the same moment
    posts = [
        threading.Thread(target=lambda: pages.append(submit(path(pending.approval_id), fields)))
        for _ in range(2)
    ]
    for post in posts:
        post.start()
    for post in posts:
        post.join()

    # Then one post decides and the other is told it was already decided
    assert sorted(page.status for page in pages) == [200, 409]
    finished_execution(execution_arn(pending.approval_id))
    assert actions(services).count("approval.decided") == 1
    assert actions(services).count("write_off.performed") == 1


def test_opening_a_decided_approval_shows_the_decision_and_no_form(
    pending: ApprovalRequest, key: bytes
) -> None:
    # Given an approval already rejected through its link
    link = link_for(pending)
    assert submit(path(pending.approval_id), decision_form(link, key, "reject")).status == 200

    # When the link is opened again
    page = browse(target(link, key))

    # Then it shows who decided, offers no form, and repeats no secret
    assert page.status == 409
    assert "Already rejected" in page.html
    assert "<form" not in page.html
    assert links.sign(link, key) not in page.html


def test_an_approval_that_moved_on_is_no_longer_the_first_approvers(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes
) -> None:
    # Given an approval whose first approver let the deadline pass, so it moved on
    gate.escalate(pending.approval_id, 0)
    before = snapshot(gate, services, pending.approval_id)
    link = link_for(pending)

    # When the first approver opens their link, or posts its form
    opened = browse(target(link, key))
    posted = submit(path(pending.approval_id), decision_form(link, key))

    # Then both are refused, naming who decides now, and nothing is decided
    for page in (opened, posted):
        assert page.status == 409
        assert "No longer yours" in page.html
        assert f"it is with {SECOND}, who decides it now" in page.html
        assert_security_headers(page)
    assert snapshot(gate, services, pending.approval_id) == before


def test_an_unknown_approval_is_not_found(gate: ApprovalGate, key: bytes) -> None:
    # Given a genuinely signed link to an approval that does not exist
    link = SignedLink("apr_nosuchapproval", FIRST, 1_900_000_000)

    # When it is opened, or its form posted
    pages = [browse(target(link, key)), submit(path(link.approval_id), decision_form(link, key))]

    # Then both say so
    assert [page.status for page in pages] == [404, 404]
    assert all("Approval not found" in page.html for page in pages)


# Links that were forged, changed, or have lapsed


TAMPERINGS = [
    "forged",
    "approver changed",
    "expiry extended",
    "approval changed",
    "form token as signature",
    "signature not ascii",
    "newline in approver",
]


def tampered(case: str, approval: ApprovalRequest, key: bytes) -> tuple[SignedLink, str]:
    """A link whose fields no longer match the signature it carries."""
    genuine = link_for(approval)
    signature = links.sign(genuine, key)
    changed = {
        "forged": (genuine, links.sign(genuine, b"not the deployment's key, but 32+ bytes")),
        "approver changed": (link_for(approval, SECOND), signature),
        "expiry extended": (SignedLink(genuine.approval_id, FIRST, genuine.expires + 86_400), None),
        "approval changed": (SignedLink(OTHER_ID, FIRST, genuine.expires), None),
        "form token as signature": (genuine, links.csrf_token(genuine, key)),
        "signature not ascii": (genuine, "é" + signature[1:]),
        "newline in approver": (link_for(approval, f"{FIRST}\n{SECOND}"), None),
    }
    link, carried = changed[case]
    return link, carried or signature


@pytest.mark.parametrize("case", TAMPERINGS)
def test_a_tampered_link_is_refused_and_changes_nothing(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes, case: str
) -> None:
    # Given two asked approvals, and a link changed from the genuine one to the first
    other = asked(gate, write_off_request(OTHER_ID, invoice_number="INV-2"))
    before = [snapshot(gate, services, a.approval_id) for a in (pending, other)]
    link, signature = tampered(case, pending, key)

    # When the link is opened, and a form is posted with it
    opened = browse(target(link, key, signature))
    posted = submit(path(link.approval_id), decision_form(link, key, sig=signature))

    # Then both are refused as not valid, without repeating the signature
    for page in (opened, posted):
        assert page.status == 403
        assert "Link not valid" in page.html
        assert signature not in page.html
        assert_security_headers(page)
    # And neither approval moved
    assert [snapshot(gate, services, a.approval_id) for a in (pending, other)] == before


@pytest.mark.parametrize("missing", ["approver", "expires", "sig"])
def test_a_link_cut_short_is_refused(pending: ApprovalRequest, key: bytes, missing: str) -> None:
    # Given a link missing one of its query fields
    link = link_for(pending)
    query = {"approver": FIRST, "expires": str(link.expires), "sig": links.sign(link, key)}
    del query[missing]

    # When it is opened
    page = browse(f"{path(pending.approval_id)}?{urlencode(query)}")

    # Then it is refused
    assert page.status == 403
    assert "Link not valid" in page.html


def test_an_expired_link_is_gone_and_changes_nothing(
    gate: ApprovalGate,
    services: Services,
    pending: ApprovalRequest,
    key: bytes,
    clock: SimulatedClock,
) -> None:
    # Given a page opened while its link was current
    link = link_for(pending)
    page = browse(target(link, key))
    assert page.status == 200
    before = snapshot(gate, services, pending.approval_id)

    # When the deadline passes, and the link is opened or the page's form posted
    clock.advance(timedelta(hours=1))
    opened = browse(target(link, key))
    posted = submit(path(pending.approval_id), {**page.form, "decision": "approve"})

    # Then both say the link has expired, and nothing was decided
    for refused in (opened, posted):
        assert refused.status == 410
        assert "Link expired" in refused.html
        assert_security_headers(refused)
    assert snapshot(gate, services, pending.approval_id) == before


# The form


CSRF_CASES = ["missing", "empty", "wrong", "the link signature", "another link's"]


def csrf_case(case: str, link: SignedLink, key: bytes) -> str | None:
    other = SignedLink(OTHER_ID, link.approver, link.expires)
    return {
        "missing": None,
        "empty": "",
        "wrong": "forged-token",
        "the link signature": links.sign(link, key),
        "another link's": links.csrf_token(other, key),
    }[case]


@pytest.mark.parametrize("case", CSRF_CASES)
def test_a_decision_without_its_page_token_is_refused(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes, case: str
) -> None:
    # Given a genuine link, and a decision posted without the form token of its page
    link = link_for(pending)
    fields = decision_form(link, key)
    token = csrf_case(case, link, key)
    if token is None:
        del fields["csrf"]
    else:
        fields["csrf"] = token
    before = snapshot(gate, services, pending.approval_id)

    # When it is posted
    page = submit(path(pending.approval_id), fields)

    # Then it is refused, and nothing was decided
    assert page.status == 403
    assert "did not come from the approval page" in page.html
    assert_security_headers(page)
    assert snapshot(gate, services, pending.approval_id) == before


@pytest.mark.parametrize(
    ("changes", "content_type", "named"),
    [
        pytest.param(
            {"decision": "maybe"}, None, "decision must be approve or reject", id="choice"
        ),
        pytest.param({"decision": ""}, None, "decision must be approve or reject", id="no choice"),
        pytest.param({"comment": "x" * 2001}, None, "comment must be at most", id="long comment"),
        pytest.param({}, "text/plain", "body must be a form", id="not a form"),
    ],
)
def test_a_form_that_cannot_be_read_is_refused_by_field(
    gate: ApprovalGate,
    services: Services,
    pending: ApprovalRequest,
    key: bytes,
    changes: dict[str, str],
    content_type: str | None,
    named: str,
) -> None:
    # Given a genuine link and token, with a form that is wrong in one way
    fields = decision_form(link_for(pending), key, **changes)
    before = snapshot(gate, services, pending.approval_id)

    # When it is posted
    page = submit(path(pending.approval_id), fields, content_type)

    # Then it is refused naming the field, and nothing was decided
    assert page.status == 400
    assert named in page.html
    assert_security_headers(page)
    assert snapshot(gate, services, pending.approval_id) == before


def test_a_decision_sent_twice_in_one_form_is_refused(
    gate: ApprovalGate, services: Services, pending: ApprovalRequest, key: bytes
) -> None:
    # Given a form carrying both decisions
    body = urlencode(decision_form(link_for(pending), key)) + "&decision=reject"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    before = snapshot(gate, services, pending.approval_id)

    # When it is posted
    page = call(proxy_event("POST", path(pending.approval_id), headers, body.encode()))

    # Then it is refused, and nothing was decided
    assert page.status == 400
    assert "decision was sent more than once" in page.html
    assert snapshot(gate, services, pending.approval_id) == before


# What the page shows, and how


def test_markup_from_customers_and_the_agent_is_shown_as_text(
    gate: ApprovalGate, key: bytes
) -> None:
    # Given an approval whose account name, rationale, evidence and reason carry markup
    script = "<script>alert(document.cookie)</script>"
    approval = asked(
        gate,
        write_off_request(
            account_name=f'Acme "{script}" GmbH',
            rationale=f"The customer wrote {script}",
            evidence=[
                Evidence(label=f"Subject: {script}", detail=f"<img src=x onerror=1>{script}")
            ],
        ),
    )
    link = link_for(approval)

    # When the page is shown, and the approval decided with a comment holding markup
    page = browse(target(link, key))
    confirmation = submit(path(approval.approval_id), decision_form(link, key, comment=script))

    # Then the markup appears only as escaped text
    for shown in (page, confirmation):
        assert shown.status == 200
        assert "<script>" not in shown.html
        assert "<img" not in shown.html
        assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in shown.html
    assert "&lt;img src=x onerror=1&gt;" in page.html


@pytest.mark.parametrize(
    ("method", "target_path", "status"),
    [
        ("GET", "/approvals", 404),
        ("GET", "/elsewhere", 404),
        ("PUT", path("apr_test0001"), 405),
        ("DELETE", path("apr_test0001"), 405),
    ],
)
def test_other_paths_and_methods_get_a_page_with_the_same_headers(
    pending: ApprovalRequest, method: str, target_path: str, status: int
) -> None:
    # When anything but GET or POST of an approval reaches the function
    page = call(proxy_event(method, target_path, {}, b""))

    # Then it gets a refusal page with every security header
    assert page.status == status
    assert_security_headers(page)


def test_a_failure_inside_says_nothing_was_recorded(
    pending: ApprovalRequest, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a gate whose table fails unexpectedly
    def unavailable(self: ApprovalStore, approval_id: str) -> ApprovalRequest:
        raise RuntimeError("DynamoDB went away")

    monkeypatch.setattr(ApprovalStore, "get", unavailable)

    # When a link is opened
    page = browse(target(link_for(pending), key))

    # Then the approver gets a plain page, no detail of the failure, and the headers
    assert page.status == 500
    assert "nothing was recorded" in page.html
    assert "DynamoDB" not in page.html
    assert_security_headers(page)


def test_logs_carry_no_address_signature_token_or_comment(
    pending: ApprovalRequest, key: bytes
) -> None:
    # When a link is opened, its form posted with a comment, and a forged link tried
    link = link_for(pending)
    with captured_logs() as output:
        page = browse(target(link, key))
        fields = {**page.form, "decision": "approve", "comment": "secretive"}
        submit(path(pending.approval_id), fields)
        browse(target(link, key, "forged"))

    # Then what was logged names the approval but none of the approver's secrets or words
    logged = output.getvalue()
    assert pending.approval_id in logged
    for secret in (FIRST, page.form["sig"], page.form["csrf"], "secretive", "forged"):
        assert secret not in logged


def test_a_missing_signing_secret_setting_fails_the_invocation_by_name(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment without the signing secret's setting, starting cold
    monkeypatch.delenv("APPROVAL_SIGNING_SECRET_ARN")
    services_module.use(Services.build(services.settings, services.clock))

    # When the function is invoked, then it fails naming the setting
    with pytest.raises(ConfigurationError, match="APPROVAL_SIGNING_SECRET_ARN"):
        browse("/approvals/apr_test0001?approver=x&expires=1&sig=y")
