"""Six simulated weeks of the collections loop over a small, varied ledger.

Every hour on the hour the sweep queues the accounts whose review is due and the decision step
takes each one, as the decide function would; hours in which nothing is due are skipped, the
sweep finding nothing in them. What SES sent, the touches and the audit trail are then held to
the policy the loop ran under.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.ses.models import ses_backends

from infra.local import moto_patches
from infra.local.provision import provision
from infra.manifest import APPROVAL_STATE_MACHINE
from shared.approvals.models import ApprovalRequest
from shared.approvals.settings import ApprovalSettings
from shared.audit.models import Actor, ActorKind, AuditEvent, Entry
from shared.cases.book import CaseBook
from shared.cases.models import CaseSource, NewPromise
from shared.cases.service import Cases
from shared.clock import SimulatedClock
from shared.collections.loop import DecisionStep
from shared.collections.policy import Tone
from shared.collections.state import midnight
from shared.collections.store import CollectionsStore
from shared.collections.sweep import ReviewRequest, ReviewSweep
from shared.ledger.models import Case, CaseKind, CaseStatus, NewInvoice, Touch
from shared.ledger.service import AccountChanged
from shared.outreach.settings import OutreachSettings
from shared.policy.models import Policy
from shared.services import Services
from shared.settings import Settings
from tests.collections_factories import policy_document
from tests.factories import contact, invoice, payment, profile
from tests.integration.conftest import ACCOUNT, REGION, SENDER, stored_approval_settings

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
"""Monday 2 March 2026: 07:00 in Berlin, 15:00 in Tokyo, still Sunday in Los Angeles."""
END = START + timedelta(weeks=6)
"""Both daylight saving changes fall inside: the US on 8 March, Europe on 29 March."""
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)

ERP = Actor(kind=ActorKind.INTEGRATOR, id="arn:aws:iam::123456789012:user/erp-sync")
CONFIGURATION_SET = "autoar-outreach"
OUTREACH = OutreachSettings(
    sender_address=SENDER,
    sender_name="Receivables team",
    mail_domain="ar.example.com",
    configuration_set=CONFIGURATION_SET,
)
OUTREACH_KINDS = {"send_reminder", "send_final_notice", "send_statement", "propose_payment_plan"}


def weeks_policy_document() -> dict[str, Any]:
    """The shipped example with two changes. Touches may be two days apart, so that a busy
    account runs into the weekly maximum and not only the gap: three days apart on weekdays
    leaves room for a third email within seven days only as Tuesday, Friday, Monday. And a plan
    is offered at 35 days past due: after the final notice (30), before the escalation (44)."""
    document = policy_document()
    document["version"] = "weeks-1"
    document["collections"]["min_days_between_touches"] = 2
    document["collections"]["payment_plans"]["offer_from_days_past_due"] = 35
    return document


POLICY = Policy.model_validate(weeks_policy_document())
RULES = POLICY.collections
"""Cadence -3/3/14/30 (standard), 1/7/21 firm to final (high risk); at most 2 emails in any
7 days and 2 days apart, 09:00-17:00 Monday to Friday in the contact's zone; plans up to
10,000 EUR on the agent's own authority."""


# The ledger


@dataclass(frozen=True)
class Customer:
    account_id: str
    invoices: tuple[tuple[str, str, date], ...]
    """Each invoice as (number, amount, due date)."""
    time_zone: str = "Europe/Berlin"
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"ap@{self.account_id.lower()}.example"

    def new_invoices(self) -> list[NewInvoice]:
        return [
            invoice(number, self.account_id, amount, issued=due - timedelta(days=30))
            for number, amount, due in self.invoices
        ]


HOLD_UNTIL = date(2026, 3, 18)
PROMISED_AT = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
PROMISED_FOR = date(2026, 3, 12)
PROMISE_BROKEN_ON = date(2026, 3, 17)
"""Promised for Thursday 12 March by SEPA: one clearing day and three grace days make the 16th
the last day the money may arrive."""
STALLER_PROMISED_AT = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
STALLER_BROKEN_ON = date(2026, 3, 27)
"""Promised for Monday 16 March by cheque: seven clearing days and three grace days, so the
firm step of 18 March falls due while the promise stands."""
DISPUTE_RESOLVED = datetime(2026, 3, 23, 10, 30, tzinfo=UTC)
FIRST_INSTALMENT_PAID = datetime(2026, 3, 24, 10, 30, tzinfo=UTC)

CUSTOMERS = (
    Customer("PUNCTUAL", (("P-1", "1500.00", date(2026, 3, 6)),)),
    Customer(
        "SILENT",
        (
            ("S-1", "900.00", date(2026, 2, 27)),
            ("S-2", "1100.00", date(2026, 2, 27)),
            ("S-3", "700.00", date(2026, 3, 4)),
            ("S-4", "650.00", date(2026, 3, 9)),
            ("S-5", "820.00", date(2026, 3, 11)),
        ),
    ),
    Customer(
        "DISPUTER", (("D-1", "2000.00", date(2026, 2, 16)), ("D-2", "400.00", date(2026, 2, 23)))
    ),
    Customer(
        "HOLDCO",
        (("H-1", "3000.00", date(2026, 2, 20)),),
        profile={"hold_until": HOLD_UNTIL, "hold_reason": "moving to a new ERP"},
    ),
    Customer("AUTOPAY", (("A-1", "800.00", date(2026, 2, 20)),), profile={"autopay": True}),
    Customer(
        "TOKYO",
        (("T-1", "1800.00", date(2026, 2, 26)), ("T-2", "600.00", date(2026, 3, 12))),
        time_zone="Asia/Tokyo",
    ),
    Customer(
        "PACIFIC",
        (("L-1", "2500.00", date(2026, 2, 27)),),
        time_zone="America/Los_Angeles",
        profile={"risk_segment": "high_risk"},
    ),
    Customer("PROMISER", (("R-1", "1250.00", date(2026, 3, 6)),)),
    Customer("STALLER", (("Z-1", "1600.00", date(2026, 3, 4)),)),
    Customer("PLANCO", (("C-1", "6000.00", date(2026, 2, 10)),)),
    Customer(
        "BIGPLAN", (("B-1", "14000.00", date(2026, 2, 10)), ("B-2", "10000.00", date(2026, 2, 10)))
    ),
)
CUSTOMER = {customer.account_id: customer for customer in CUSTOMERS}
BY_ADDRESS = {customer.address: customer for customer in CUSTOMERS}


def open_ledger(services: Services) -> None:
    """Every customer with its contact and invoices; DISPUTER contests both its invoices."""
    for customer in CUSTOMERS:
        reader = contact("ap", email=customer.address, time_zone=customer.time_zone)
        account_profile = profile(f"{customer.account_id.title()} Ltd", contacts=[reader])
        services.ledger.create_account(
            customer.account_id,
            account_profile.model_copy(update=customer.profile),
            ERP,
        )
        services.ledger.create_invoices(customer.new_invoices(), ERP)
    dispute = Case(
        account_id="DISPUTER",
        case_id="dsp-weeks-1",
        kind=CaseKind.DISPUTE,
        currency="EUR",
        amount=Decimal("2400.00"),
        invoice_numbers=["D-1", "D-2"],
        reason_code="damaged_goods",
        opened_at=START,
    )
    CaseBook(services.ledger).open(dispute, [_case_entry(dispute, "dispute.opened", "open")])


# What happens in the world meanwhile


@dataclass(frozen=True)
class Happening:
    at: datetime
    apply: Callable[[Services], None]


def punctual_pays(services: Services) -> None:
    paid = payment("PAY-P-1", "1500.00", ("P-1", "1500.00"), received_on=date(2026, 3, 6))
    services.ledger.record_payment("PUNCTUAL", paid, ERP)


def promiser_promises(services: Services) -> None:
    promise = NewPromise(promised_date=PROMISED_FOR, payment_method="sepa", invoice_numbers=["R-1"])
    Cases(services.ledger).promises.record("PROMISER", promise, CaseSource.API, ERP)


def staller_promises(services: Services) -> None:
    promise = NewPromise(
        promised_date=date(2026, 3, 16), payment_method="check", invoice_numbers=["Z-1"]
    )
    Cases(services.ledger).promises.record("STALLER", promise, CaseSource.API, ERP)


def dispute_resolved(services: Services) -> None:
    cases = services.ledger.store.records("DISPUTER").cases
    (dispute,) = [case for case in cases if case.kind is CaseKind.DISPUTE]
    entry = _case_entry(dispute, "dispute.resolved", "resolved")
    CaseBook(services.ledger).close(dispute, CaseStatus.RESOLVED, "dispute.resolved", entry)


def planco_pays_first_instalment(services: Services) -> None:
    paid = payment("PAY-C-1", "2000.00", ("C-1", "2000.00"), received_on=date(2026, 3, 24))
    services.ledger.record_payment("PLANCO", paid, ERP)


HAPPENINGS = (
    Happening(datetime(2026, 3, 6, 10, 30, tzinfo=UTC), punctual_pays),
    Happening(PROMISED_AT, promiser_promises),
    Happening(STALLER_PROMISED_AT, staller_promises),
    Happening(DISPUTE_RESOLVED, dispute_resolved),
    Happening(FIRST_INSTALMENT_PAID, planco_pays_first_instalment),
)


# Six weeks, run once for the module


@dataclass(frozen=True)
class SentEmail:
    sent_at: datetime
    """The simulated instant at which it left through SES."""
    account_id: str
    to: str
    subject: str
    message_id: str
    text: str


@dataclass(frozen=True)
class Weeks:
    emails: list[SentEmail]
    events: dict[str, list[AuditEvent]]
    cases: dict[str, list[Case]]
    touches: dict[str, list[Touch]]
    pending_approvals: list[ApprovalRequest]
    executions: list[str]
    audit_intact: bool
    redeliveries: int

    def emails_to(self, account_id: str) -> list[SentEmail]:
        return [sent for sent in self.emails if sent.account_id == account_id]

    def audited(self, account_id: str, action: str) -> list[AuditEvent]:
        return [event for event in self.events[account_id] if event.action == action]

    def decisions(self) -> list[AuditEvent]:
        return [e for events in self.events.values() for e in events if e.action == "decision.made"]

    def decision_behind(self, sent: SentEmail) -> AuditEvent:
        (decision,) = [
            d
            for d in self.audited(sent.account_id, "decision.made")
            if d.inputs.get("message_id") == sent.message_id
        ]
        return decision


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> Weeks:
    """Given the ledger above, when six weeks pass with the world's happenings: what came of it."""
    policy_file = tmp_path_factory.mktemp("weeks") / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(weeks_policy_document()))
    with pytest.MonkeyPatch.context() as patch, moto_world(patch, policy_file) as queue_url:
        clock = SimulatedClock(START)
        services = Services.build(Settings.from_env(os.environ), clock)
        open_ledger(services)
        simulation = Simulation(services, clock, queue_url)
        simulation.run(until=END, happenings=HAPPENINGS)
        return simulation.outcome()


class Simulation:
    """The hourly sweep and the decide function on a simulated clock, with the world's
    happenings in between."""

    def __init__(self, services: Services, clock: SimulatedClock, queue_url: str) -> None:
        self._services = services
        self._clock = clock
        self._sqs = boto3.client("sqs")
        self._queue_url = queue_url
        settings = services.settings
        store = CollectionsStore(services.dynamodb, settings.ledger_table, settings.review_shards)
        self._sweep = ReviewSweep(store, self._sqs, queue_url, clock)
        self._step = DecisionStep.from_services(services, OUTREACH, ApprovalSettings.from_env())
        self._outbox = ses_backends[ACCOUNT][REGION].sent_messages
        self._seen = len(self._outbox)
        self._swept_at: datetime | None = None
        self.emails: list[SentEmail] = []
        self.redeliveries = 0

    def run(self, until: datetime, happenings: tuple[Happening, ...]) -> None:
        waiting = sorted(happenings, key=lambda happening: happening.at)
        while True:
            sweep_at = self._next_sweep()
            if waiting and waiting[0].at < sweep_at:
                happening = waiting.pop(0)
                self._clock.set(happening.at)
                happening.apply(self._services)
                continue
            if sweep_at > until:
                return
            self._clock.set(sweep_at)
            self._sweep_and_decide()

    def outcome(self) -> Weeks:
        services = self._services
        ids = [customer.account_id for customer in CUSTOMERS]
        records = {account_id: services.ledger.store.records(account_id) for account_id in ids}
        machine = os.environ[APPROVAL_STATE_MACHINE.env_var]
        executions = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
        return Weeks(
            emails=self.emails,
            events={account_id: services.audit.events(account_id) for account_id in ids},
            cases={account_id: records[account_id].cases for account_id in ids},
            touches={account_id: records[account_id].touches for account_id in ids},
            pending_approvals=services.approvals().pending(),
            executions=[execution["name"] for execution in executions["executions"]],
            audit_intact=services.audit.verify().intact,
            redeliveries=self.redeliveries,
        )

    def _next_sweep(self) -> datetime:
        """The first hour on the hour at which the sweep finds an account due."""
        accounts = [self._services.ledger.store.account(c.account_id) for c in CUSTOMERS]
        soonest = min(a.next_review_at for a in accounts if a.next_review_at is not None)
        earliest = START if self._swept_at is None else self._swept_at + HOUR
        return _on_the_hour(max(soonest, earliest))

    def _sweep_and_decide(self) -> None:
        self._swept_at = self._clock.now()
        self._sweep.run()
        for request in self._queued():
            self._decide(request.account_id)

    def _queued(self) -> list[ReviewRequest]:
        requests = []
        while messages := self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            for message in messages:
                requests.append(ReviewRequest.from_body(message["Body"]))
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return requests

    def _decide(self, account_id: str) -> None:
        """One message: an account that changed meanwhile is decided again, as SQS would
        deliver the message again."""
        for _ in range(3):
            try:
                self._step.run(account_id)
                break
            except AccountChanged:
                self.redeliveries += 1
        else:
            raise AssertionError(f"{account_id} kept changing under its decision")
        self._collect_sent()

    def _collect_sent(self) -> None:
        for message in self._outbox[self._seen :]:
            self.emails.append(_sent_email(message.raw_data, self._clock.now()))
        self._seen = len(self._outbox)


@contextmanager
def moto_world(patch: pytest.MonkeyPatch, policy_file: Path) -> Iterator[str]:
    """moto with autoar's tables, an approval state machine (stored, not executed), a verified
    sender and its configuration set, the policy file and a decide queue; yields its URL."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        patch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        patch.setenv(name, value)
    moto_patches.install()
    with mock_aws():
        environment = {
            **provision(boto3.client("dynamodb"), boto3.client("s3")),
            "REVIEW_SHARDS": "4",
            "POWERTOOLS_SERVICE_NAME": "autoar",
        }
        environment |= stored_approval_settings(policy_file)
        for name, value in environment.items():
            patch.setenv(name, value)
        ses = boto3.client("ses")
        ses.verify_email_identity(EmailAddress=SENDER)
        ses.create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})
        yield boto3.client("sqs").create_queue(QueueName="autoar-decide")["QueueUrl"]


# When and how often


def test_every_email_went_out_in_the_contacts_own_business_hours(weeks):
    # Given six weeks of email to contacts in Berlin, Tokyo and Los Angeles
    emailed = {sent.account_id for sent in weeks.emails}
    assert {"SILENT", "TOKYO", "PACIFIC"} <= emailed

    # Then each one left on a business day, inside the send window, in its reader's own zone
    outside = [
        f"{sent.account_id} at {local:%a %Y-%m-%d %H:%M %Z}"
        for sent in weeks.emails
        if not _in_business_hours(local := _local(sent))
    ]
    assert outside == []


def test_tokyo_and_los_angeles_are_written_to_in_their_hours_not_ours(weeks):
    # Tokyo's 09:00-17:00 is 00:00-08:00 UTC; Los Angeles' ends after midnight UTC
    tokyo_hours = {sent.sent_at.hour for sent in weeks.emails_to("TOKYO")}
    pacific_hours = {sent.sent_at.hour for sent in weeks.emails_to("PACIFIC")}

    assert tokyo_hours
    assert tokyo_hours <= set(range(0, 8))
    assert pacific_hours
    assert pacific_hours <= {*range(16, 24), 0}


def test_nobody_hears_from_us_more_than_the_weekly_maximum_or_sooner_than_the_minimum_gap(weeks):
    limit = RULES.max_touches_per_week
    gap = timedelta(days=RULES.min_days_between_touches)

    for customer in CUSTOMERS:
        sent = sorted(s.sent_at for s in weeks.emails if s.to == customer.address)
        busiest = max((_in_week_up_to(moment, sent) for moment in sent), default=0)
        too_close = [(a, b) for a, b in itertools.pairwise(sent) if b - a < gap]
        assert busiest <= limit, f"{customer.account_id}: {busiest} emails within 7 days"
        assert too_close == [], f"{customer.account_id}: emails closer than {gap}"
        # The touches the cadence counts are exactly the emails that went out
        touched = sorted(t.sent_at for t in weeks.touches[customer.account_id])
        assert touched == sent

    # And the limit was reached, not merely never approached
    silent = sorted(s.sent_at for s in weeks.emails_to("SILENT"))
    assert max(_in_week_up_to(moment, silent) for moment in silent) == limit


def test_a_customer_who_pays_on_time_hears_from_us_once_before_the_due_date(weeks):
    (courtesy,) = weeks.emails_to("PUNCTUAL")

    assert courtesy.sent_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert weeks.decision_behind(courtesy).inputs["chosen"]["tone"] == Tone.COURTESY
    assert "P-1" in courtesy.text


# Pauses


@pytest.mark.parametrize(
    ("account_id", "paused_from", "paused_until"),
    [
        pytest.param("AUTOPAY", START, END, id="autopay"),
        pytest.param("DISPUTER", START, DISPUTE_RESOLVED, id="open dispute"),
        pytest.param("HOLDCO", START, midnight(HOLD_UNTIL), id="manual hold"),
        pytest.param(
            "STALLER", STALLER_PROMISED_AT, midnight(STALLER_BROKEN_ON), id="active promise"
        ),
    ],
)
def test_no_email_reaches_an_account_while_it_is_paused(
    weeks, account_id, paused_from, paused_until
):
    # Given a reminder step that fell due while the account was paused
    steps_due = _steps_falling_due(CUSTOMER[account_id])
    assert [at for at in steps_due if paused_from <= at < paused_until]

    during = [s for s in weeks.emails_to(account_id) if paused_from <= s.sent_at < paused_until]
    looked_at = [
        d for d in weeks.audited(account_id, "decision.made") if paused_from <= d.at < paused_until
    ]

    assert during == []
    # The account was looked at while paused, and no email was even on offer
    assert looked_at
    offered = {c["kind"] for d in looked_at for c in d.inputs["candidates"]}
    assert not offered & OUTREACH_KINDS
    # Once the pause ends, the reminders resume
    if paused_until < END:
        assert [s for s in weeks.emails_to(account_id) if s.sent_at >= paused_until]


# One email per account per decision


def test_each_decision_sends_one_email_listing_every_invoice_it_chases(weeks):
    emailing = [d for d in weeks.decisions() if "message_id" in d.inputs]
    by_message_id = {sent.message_id: sent for sent in weeks.emails}

    # Each email comes from exactly one decision, and each emailing decision sent exactly one
    assert len(by_message_id) == len(weeks.emails)
    assert sorted(d.inputs["message_id"] for d in emailing) == sorted(by_message_id)
    for decision in emailing:
        sent = by_message_id[decision.inputs["message_id"]]
        assert sent.account_id == decision.chain
        assert [line for line in _listed(decision.inputs["chosen"]) if line not in sent.text] == []

    # Never two emails to one account from the same sweep
    instants = [(sent.account_id, sent.sent_at) for sent in weeks.emails]
    assert len(set(instants)) == len(instants)


def test_invoices_due_a_reminder_together_share_one_email(weeks):
    first = weeks.emails_to("SILENT")[0]

    chased = weeks.decision_behind(first).inputs["chosen"]["invoice_numbers"]
    assert chased == ["S-1", "S-2"]
    assert "S-1" in first.text
    assert "S-2" in first.text
    assert [s for s in weeks.emails_to("SILENT") if s.sent_at == first.sent_at] == [first]


# Promises


def test_a_broken_promise_is_recorded_and_the_next_email_is_a_step_up_the_ladder(weeks):
    emails = weeks.emails_to("PROMISER")
    before = [s for s in emails if s.sent_at < PROMISED_AT]
    after = [s for s in emails if s.sent_at >= PROMISED_AT]
    assert before
    assert after

    # Then the promise is judged broken once its last day (16 March) has passed
    (broken,) = weeks.audited("PROMISER", "promise.broken")
    assert broken.at >= midnight(PROMISE_BROKEN_ON)
    assert broken.inputs["deadline"] == "2026-03-16"
    assert Decimal(broken.inputs["received"]) == 0
    (promise,) = [c for c in weeks.cases["PROMISER"] if c.kind is CaseKind.PROMISE_TO_PAY]
    assert promise.status is CaseStatus.BROKEN

    # And the next email is one step firmer than the last, sooner than the calendar would send it
    last_tone = Tone(weeks.decision_behind(before[-1]).inputs["chosen"]["tone"])
    next_chosen = weeks.decision_behind(after[0]).inputs["chosen"]
    assert Tone(next_chosen["tone"]).rank == last_tone.rank + 1
    assert f"after broken promise {promise.case_id}" in next_chosen["reason"]
    calendar_firm_step = midnight(date(2026, 3, 6) + timedelta(days=14))
    assert broken.at <= after[0].sent_at < calendar_firm_step


# Payment plans


def test_a_plan_within_the_policys_limits_is_agreed_by_the_agent_and_offered_once(weeks):
    # Given 6,000 EUR 35 days overdue: below the 10,000 EUR the agent may settle alone
    (plan,) = [c for c in weeks.cases["PLANCO"] if c.kind is CaseKind.PAYMENT_PLAN]
    (agreed,) = weeks.audited("PLANCO", "payment_plan.agreed")

    # Then the plan is agreed without asking anyone, with the policy's three instalments
    assert agreed.inputs["case_id"] == plan.case_id
    assert weeks.audited("PLANCO", "approval.requested") == []
    assert plan.status is CaseStatus.OPEN
    assert [(i.amount, i.paid_amount) for i in plan.instalments] == [
        (Decimal("2000.00"), Decimal("2000.00")),
        (Decimal("2000.00"), Decimal(0)),
        (Decimal("2000.00"), Decimal(0)),
    ]
    assert weeks.audited("PLANCO", "payment_plan.instalment_paid")

    # And it is offered in one email, the last one while the plan runs on time
    (offer,) = [s for s in weeks.emails_to("PLANCO") if s.sent_at >= agreed.at]
    assert weeks.decision_behind(offer).inputs["chosen"]["kind"] == "propose_payment_plan"
    assert offer.sent_at - agreed.at < HOUR
    assert "payment plan" in offer.subject


def test_a_plan_above_the_policys_limits_waits_for_an_approver(weeks):
    # Given 24,000 EUR 35 days overdue: above the 10,000 EUR the agent may settle alone
    (requested,) = weeks.audited("BIGPLAN", "approval.requested")

    # Then the plan is put to the fallback approver, through the approval state machine
    assert requested.inputs["policy_rule"] == "fallback: above 10000 EUR"
    assert requested.inputs["action"]["kind"] == "payment_plan"
    assert requested.inputs["action"]["amount"] == "24000.00"
    (pending,) = [a for a in weeks.pending_approvals if a.account_id == "BIGPLAN"]
    assert pending.approvers == [POLICY.approvals.fallback_approver]
    assert pending.approval_id in weeks.executions
    (asking,) = [
        d
        for d in weeks.audited("BIGPLAN", "decision.made")
        if d.inputs["chosen"]["kind"] == "request_approval"
    ]
    assert asking.outcome == "awaiting approval"
    assert asking.inputs["approval_id"] == pending.approval_id

    # And nothing is agreed or offered to the customer meanwhile
    assert [c for c in weeks.cases["BIGPLAN"] if c.kind is CaseKind.PAYMENT_PLAN] == []
    assert weeks.audited("BIGPLAN", "payment_plan.agreed") == []
    assert not [s for s in weeks.emails_to("BIGPLAN") if "payment plan" in s.subject]


# The audit trail


def test_every_decision_is_audited_with_its_candidates_choice_rationale_and_rule(weeks):
    decisions = weeks.decisions()
    assert len(decisions) > 5 * len(CUSTOMERS)

    for decision in decisions:
        candidates = decision.inputs["candidates"]
        chosen = decision.inputs["chosen"]
        assert candidates[-1]["kind"] == "wait"
        assert all(c["rule"] and c["reason"] for c in candidates)
        offered = [c for c in candidates if (c["kind"], c["rule"], c["reason"]) == _offer(chosen)]
        assert offered, f"{decision.chain} #{decision.sequence} chose what was not offered"
        assert decision.inputs["policy_rule"] == chosen["rule"]
        assert decision.rationale
        assert decision.policy_version == POLICY.version

    chosen_kinds = {d.inputs["chosen"]["kind"] for d in decisions}
    assert {"wait", "send_reminder", "send_final_notice", "propose_payment_plan"} <= chosen_kinds
    assert "request_approval" in chosen_kinds
    assert weeks.audit_intact
    # And each decision committed on the account as it found it, none taken twice
    assert weeks.redeliveries == 0


# Helpers


def _sent_email(raw: str, sent_at: datetime) -> SentEmail:
    message = email.message_from_string(raw, policy=email.policy.default)
    to = message["To"].addresses[0].addr_spec
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return SentEmail(
        sent_at=sent_at,
        account_id=BY_ADDRESS[to].account_id,
        to=to,
        subject=str(message["Subject"]),
        message_id=str(message["Message-ID"]),
        text=body.get_content(),
    )


def _local(sent: SentEmail) -> datetime:
    return sent.sent_at.astimezone(ZoneInfo(CUSTOMER[sent.account_id].time_zone))


def _in_business_hours(local: datetime) -> bool:
    window = RULES.send_window
    on_hours = window.start <= local.time().replace(tzinfo=None) < window.end
    return on_hours and local.weekday() in RULES.business_day_numbers


def _in_week_up_to(moment: datetime, sent: list[datetime]) -> int:
    """How many of `sent` fall in the seven days that end at `moment`."""
    return sum(1 for other in sent if moment - WEEK < other <= moment)


def _listed(chosen: dict[str, Any]) -> list[str]:
    """What an email must show: each invoice it chases, or for a plan offer each instalment."""
    if chosen["kind"] != "propose_payment_plan":
        return list(chosen["invoice_numbers"])
    due_dates = [date.fromisoformat(i["due_date"]) for i in chosen["plan"]["instalments"]]
    return [f"{day.day} {day:%b} {day.year}" for day in due_dates]


def _steps_falling_due(customer: Customer) -> list[datetime]:
    """When each of the customer's invoices reaches each step of its segment's cadence."""
    _, steps = RULES.steps_for(customer.profile.get("risk_segment", "standard"))
    return [
        midnight(due + timedelta(days=step.days_from_due))
        for _, _, due in customer.invoices
        for step in steps
    ]


def _offer(chosen: dict[str, Any]) -> tuple[str, str, str]:
    return chosen["kind"], chosen["rule"], chosen["reason"]


def _on_the_hour(instant: datetime) -> datetime:
    floor = instant.replace(minute=0, second=0, microsecond=0)
    return floor if floor == instant else floor + HOUR


def _case_entry(case: Case, action: str, outcome: str) -> Entry:
    return Entry(
        chain=case.account_id,
        actor=ERP,
        action=action,
        inputs={"case_id": case.case_id, "invoice_numbers": case.invoice_numbers},
        rationale="recorded in the ERP by the AR clerk",
        outcome=outcome,
    )
