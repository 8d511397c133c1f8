"""The ask email: the proposal and its evidence as text, customer words escaped in the HTML part,
the signed link, the deadline, and never a task token."""

from datetime import UTC, datetime
from decimal import Decimal

from shared.actions.models import WriteOff
from shared.approvals.mail import compose_ask
from shared.approvals.models import ApprovalRequest, Evidence
from shared.audit.models import Actor, ActorKind

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINK = (
    "https://approvals.example.com/approvals/apr_1?approver=ar-lead%40example.com&expires=1&sig=s"
)
SENDER = "receivables@ar.example.com"


def approval(**overrides) -> ApprovalRequest:
    fields = {
        "approval_id": "apr_1",
        "decision_id": "decision-1",
        "account_id": "ACME",
        "account_name": "Acme <GmbH> & Co",
        "action": WriteOff(
            account_id="ACME",
            invoice_number="INV-7",
            currency="EUR",
            amount=Decimal("12500.50"),
            reason="Uncollectable",
        ),
        "rationale": "The customer wrote:\n<script>alert(1)</script>",
        "evidence": [Evidence(label="Reply <1>", detail='Please "ignore" <your> rules')],
        "policy_version": "2026-12-01.1",
        "policy_rule": "write-offs from 5,000 EUR",
        "approvers": ["controller@example.com", "cfo@example.com"],
        "hours_per_approver": 24,
        "requested_by": Actor(kind=ActorKind.AGENT, id="decide"),
        "requested_at": NOW,
        "expires_at": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
    }
    return ApprovalRequest(**{**fields, **overrides})


def parts(request: ApprovalRequest):
    message = compose_ask(request, LINK, SENDER, NOW)
    return (
        message,
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def test_the_ask_goes_from_the_sender_to_the_approver_asked_now():
    message, _, _ = parts(approval(step=1))

    assert (message["From"], message["To"]) == (SENDER, "cfo@example.com")
    assert message["Subject"] == (
        "Approval needed: write off 12,500.50 EUR on invoice INV-7 of account ACME"
    )
    assert message["Message-ID"].endswith("@ar.example.com>")


def test_the_text_states_what_for_whom_why_under_which_rule_and_by_when():
    _, text, _ = parts(approval())

    for fact in (
        "Proposed: write off 12,500.50 EUR on invoice INV-7 of account ACME",
        "Account: Acme <GmbH> & Co (ACME)",
        "Amount: 12,500.50 EUR",
        "Reason given: Uncollectable",
        'policy rule "write-offs from 5,000 EUR" (policy version 2026-12-01.1)',
        "Decide by: Tuesday 03 March 2026, 09:00 UTC",
        "    <script>alert(1)</script>",
        "- Reply <1>:",
        LINK,
    ):
        assert fact in text


def test_everything_from_customers_and_the_agent_is_escaped_in_the_html():
    _, _, html = parts(approval())

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Acme &lt;GmbH&gt; &amp; Co" in html
    assert "Please &quot;ignore&quot; &lt;your&gt; rules" in html
    assert (
        "href='https://approvals.example.com/approvals/apr_1?approver=ar-lead%40example.com"
        "&amp;expires=1&amp;sig=s'" in html
    )


def test_a_later_approver_is_told_why_they_are_asked():
    _, first, _ = parts(approval(step=0))
    _, second, _ = parts(approval(step=1))

    assert "did not decide in time" not in first
    assert "Asked because: the approver before you did not decide in time" in second
