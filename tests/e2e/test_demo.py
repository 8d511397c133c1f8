"""`autoar demo` end to end: its summary states what is in the stored ledger and audit trail."""

import email
import email.policy
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import boto3
import pytest

from infra.local.demo.book import CURRENCIES
from infra.local.demo.figures import in_eur
from infra.local.demo.run import DEMO_START, DemoOptions, run_demo
from shared.dynamodb import scan_all

pytestmark = pytest.mark.e2e

DAYS = 40
BOOK_TIME_ZONES = [time_zone for _, time_zone, _ in CURRENCIES]


def stored_figures(runtime, result):
    """The summary's figures recomputed from raw table scans, sharing no code with the demo."""
    dynamodb = boto3.client("dynamodb")
    ledger = list(scan_all(dynamodb, TableName=runtime.environment["LEDGER_TABLE_NAME"]))
    audit = list(scan_all(dynamodb, TableName=runtime.environment["AUDIT_TABLE_NAME"]))
    end = DEMO_START + timedelta(days=DAYS)
    cash: dict[str, Decimal] = defaultdict(Decimal)
    payments = 0
    for item in ledger:
        if (
            item.get("entity") == "payment"
            and DEMO_START <= date.fromisoformat(item["received_on"]) <= end
        ):
            cash[item["currency"]] += item["amount"]
            payments += 1
    invoices = [item for item in ledger if item.get("entity") == "invoice"]
    currency_of = {
        item["account_id"]: item["currency"] for item in ledger if item.get("entity") == "account"
    }
    open_total = sum(
        in_eur(i["open_amount"], currency_of[i["account_id"]])
        for i in invoices
        if i["status"] == "open"
    )
    sales = sum(
        in_eur(i["amount"], currency_of[i["account_id"]])
        for i in invoices
        if end - timedelta(days=90) < date.fromisoformat(i["issue_date"]) <= end
    )
    trail = [item for item in audit if item["PK"] != "ACCOUNT#_system"]
    to_customers = customer_emails(runtime)
    performed_after_approval = [
        e for e in trail if e["action"].endswith(".performed") and "approval" in e["inputs"]
    ]
    return {
        "decisions": sum(1 for e in trail if e["action"] == "decision.made"),
        "emails_sent": sum(1 for e in trail if e["action"] == "email.sent"),
        "customer_emails_in_outbox": len(to_customers),
        "time_zones_written_to": time_zones_written_to(ledger, to_customers),
        "promises_recorded": sum(1 for e in trail if e["action"] == "promise.recorded"),
        "approvals_decided": sum(1 for e in trail if e["action"] == "approval.decided"),
        "performed_after_approval": len(performed_after_approval),
        "approvals_requested": sum(1 for e in trail if e["action"] == "approval.requested"),
        "approvals_approved": sum(
            1 for e in trail if e["action"] == "approval.decided" and e["outcome"] == "approved"
        ),
        "replies": sum(1 for item in ledger if str(item.get("SK", "")).startswith("MAIL#")),
        "bank_files": sum(1 for item in ledger if item.get("entity") == "bank_file"),
        "cash": dict(sorted(cash.items())),
        "payments": payments,
        "invoices": len(invoices),
        "chains": len({item["PK"] for item in audit}),
        "events": len(audit),
        "dso_end": (open_total / sales * 90).quantize(Decimal("0.1")),
    }


def customer_emails(runtime):
    """The emails SES sent to customers, as the outbox folder holds them (approvers' aside)."""
    runtime.outbox.flush()
    sent = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in runtime.folders.outbox.glob("*.eml")
    ]
    return [m for m in sent if not str(m["Subject"]).startswith("Approval needed")]


def time_zones_written_to(ledger, emails):
    """The time zones of the contacts the emails went to, from the stored accounts."""
    zones = {
        contact["email"]: contact["time_zone"]
        for item in ledger
        if item.get("entity") == "account"
        for contact in item["contacts"]
    }
    return {zones[m["To"].addresses[0].addr_spec] for m in emails}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    seen = {}
    out = StringIO()
    options = DemoOptions(workdir=tmp_path_factory.mktemp("demo"), days=DAYS, accounts=14, seed=3)
    # 40 days of a 14-account book: long enough for unanswered invoices to reach approval.
    result = run_demo(
        options, out=out, inspect=lambda runtime, r: seen.update(stored_figures(runtime, r))
    )
    return result, out.getvalue(), seen


def test_the_collections_loop_worked_the_ledger(demo):
    result, printed, stored = demo

    assert result.work.decisions == stored["decisions"] > 0
    # Every email the audit trail calls sent left through SES, and no other reached a customer.
    assert sum(result.work.emails.values()) == stored["emails_sent"] > 0
    assert stored["customer_emails_in_outbox"] == stored["emails_sent"]
    # Each customer is written to in its own send window: Chicago's opens at 15:00 UTC.
    assert stored["time_zones_written_to"] == set(BOOK_TIME_ZONES)
    assert result.work.promises["recorded"] == stored["promises_recorded"]
    assert re.search(rf"Collections decisions\s+{stored['decisions']},", printed)
    assert re.search(rf"Emails to customers\s+{stored['emails_sent']} sent", printed)


def test_the_demo_reaches_its_summary_and_writes_its_report(demo):
    result, printed, _ = demo

    assert "Cash collected" in printed
    assert f"Report: {result.report_path.resolve()}" in printed
    html = result.report_path.read_text()
    assert html.count("<svg") == 2
    assert "Cash collected per week" in html


def test_the_summary_matches_the_stored_state(demo):
    result, printed, stored = demo

    assert result.cash.by_currency == stored["cash"]
    assert result.cash.payments == stored["payments"] > 0
    assert result.invoices == stored["invoices"]
    assert result.replies == stored["replies"] > 0
    assert result.bank_files == stored["bank_files"] > 0
    assert result.approvals["requested"] == stored["approvals_requested"] > 0
    assert result.approvals["approved"] == stored["approvals_approved"]
    assert stored["performed_after_approval"] <= stored["approvals_approved"]
    assert (
        result.approvals["approved"] + result.approvals["rejected"] == stored["approvals_decided"]
    )
    assert result.dso_end == stored["dso_end"]
    assert (result.audit.chains, result.audit.events) == (stored["chains"], stored["events"])
    assert result.audit.intact
    assert f"{result.audit.events} events verified, all intact" in printed
    assert re.search(rf"DSO at end\s+{stored['dso_end']} days", printed)
