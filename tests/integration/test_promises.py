"""Promises to pay: recorded through the API, judged kept or broken at each review, and a broken
one moving the account up the reminder ladder in the collections core."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.cases.service import Cases
from shared.collections.candidates import SendReminder, build_candidates
from shared.collections.policy import Tone
from shared.collections.state import build_state
from shared.dynamodb import Transaction, commit
from shared.ledger.models import CaseStatus, PaymentMethod, Touch
from tests.collections_factories import example_policy
from tests.factories import invoice, payment, profile
from tests.integration.api_requests import ERP_ROLE, call, request

POLICY = example_policy()
"""Promises: SEPA takes a day to arrive, a cheque seven; three grace days after that."""


@pytest.fixture
def acme(services, integrator):
    """ACME's INV-1 (1200.00 EUR) fell due on Friday 27 February; a friendly reminder went out
    on Monday 2 March, the day the clock starts."""
    services.ledger.create_account("ACME", profile(), integrator)
    services.ledger.create_invoices(
        [invoice("INV-1", issued=date(2026, 1, 28)), invoice("INV-2", issued=date(2026, 2, 20))],
        integrator,
    )
    reminder = Touch(
        account_id="ACME",
        touch_id="T-1",
        sent_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        contact_id="ap",
        template="friendly",
        invoice_numbers=["INV-1"],
        cadence_steps={"INV-1": 3},
    )
    changes = Transaction()
    services.ledger.store.stage_new_record(changes, reminder)
    commit(services.dynamodb, changes)
    return services


def promise(**body):
    fields = {
        "promised_date": "2026-03-03",
        "payment_method": "sepa",
        "invoice_numbers": ["INV-1"],
        **body,
    }
    return call(request("POST", "/accounts/ACME/promises", fields))


def promised_case(services):
    (case,) = services.ledger.store.records("ACME").cases
    return case


def audited(services, action):
    return [e for e in services.audit.events("ACME") if e.action == action]


def at(clock, day: date, hour: int = 10) -> None:
    clock.set(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))


# Recording


def test_a_promise_posted_through_the_api_is_stored_as_an_open_case_and_audited(acme):
    answer = promise(amount="500.00", currency="EUR", note="Dana, on the phone")

    assert answer.status == 201
    assert answer.body["kind"] == "promise_to_pay"
    assert answer.body["status"] == "open"
    assert answer.body["amount"] == "500.00"
    case = promised_case(acme)
    assert case.case_id == answer.body["case_id"]
    assert (case.promised_date, case.payment_method) == (date(2026, 3, 3), PaymentMethod.SEPA)
    assert case.invoice_numbers == ["INV-1"]
    assert case.summary == "Dana, on the phone"
    (recorded,) = audited(acme, "promise.recorded")
    assert recorded.actor.id == ERP_ROLE
    assert recorded.inputs["source"] == "api"
    listed = call(request("GET", "/accounts/ACME/cases"))
    assert [c["case_id"] for c in listed.body["cases"]] == [case.case_id]


def test_a_promise_without_an_amount_covers_what_is_open_on_its_invoices(acme):
    answer = promise(invoice_numbers=["INV-1", "INV-2"])

    assert answer.body["amount"] == "2400.00"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"invoice_numbers": ["INV-404"]}, 400, "invoice_numbers[0]"),
        ({"promised_date": "2026-02-01"}, 400, "promised_date"),
        ({"currency": "USD", "amount": "10.00"}, 400, "currency"),
        ({"payment_method": "barter"}, 422, "payment_method"),
        ({"amount": "10.001", "currency": "EUR"}, 422, "amount"),
    ],
)
def test_a_promise_that_cannot_be_kept_on_this_account_is_refused_naming_the_field(
    acme, body, status, field
):
    answer = promise(**body)

    assert answer.status == status
    assert [f["field"] for f in answer.body["fields"]] == [field]
    assert acme.ledger.store.records("ACME").cases == []


def test_a_promise_on_an_unknown_account_is_not_found(acme):
    answer = call(request("POST", "/accounts/NOPE/promises", {"promised_date": "2026-03-09"}))

    assert answer.status == 404


# Judging


def test_a_promise_paid_in_time_is_marked_kept_at_the_next_review(acme, clock, integrator):
    promise()
    at(clock, date(2026, 3, 4))
    acme.ledger.record_payment(
        "ACME",
        payment("P-1", "1200.00", ("INV-1", "1200.00"), received_on=date(2026, 3, 4)),
        integrator,
    )

    review = Cases(acme.ledger).review("ACME", POLICY)

    (change,) = review.changes
    assert change.status is CaseStatus.KEPT
    case = promised_case(acme)
    assert (case.status, case.version, case.closed_at) == (CaseStatus.KEPT, 2, clock.now())
    (kept,) = audited(acme, "promise.kept")
    assert kept.inputs["received"] == "1200.00"
    assert kept.inputs["deadline"] == "2026-03-07"
    assert review.records.cases == [case]


def test_a_promise_not_paid_by_its_deadline_is_broken_and_judged_once(acme, clock, integrator):
    # Given a promise for SEPA on 3 March (deadline: 3 + 1 clearing + 3 grace = 7 March)
    promise()
    acme.ledger.record_payment(
        "ACME",
        payment("P-1", "500.00", ("INV-1", "500.00"), received_on=date(2026, 3, 4)),
        integrator,
    )

    # When the account is reviewed on the deadline, then it is still pending
    at(clock, date(2026, 3, 7))
    assert Cases(acme.ledger).review("ACME", POLICY).changes == []

    # When it is reviewed the day after, then it is broken, with what arrived
    at(clock, date(2026, 3, 8))
    (change,) = Cases(acme.ledger).review("ACME", POLICY).changes
    assert change.status is CaseStatus.BROKEN
    (broken,) = audited(acme, "promise.broken")
    assert broken.inputs["received"] == "500.00"
    assert "arrived by 2026-03-07" in broken.rationale

    # And a later review leaves it as it is
    at(clock, date(2026, 3, 9))
    assert Cases(acme.ledger).review("ACME", POLICY).changes == []
    assert len(audited(acme, "promise.broken")) == 1


def test_a_cheque_is_given_the_days_it_takes_to_arrive(acme, clock):
    promise(payment_method="check")

    at(clock, date(2026, 3, 13))
    assert Cases(acme.ledger).review("ACME", POLICY).changes == []
    at(clock, date(2026, 3, 14))
    (change,) = Cases(acme.ledger).review("ACME", POLICY).changes
    assert change.status is CaseStatus.BROKEN


def test_a_review_on_stale_records_does_not_judge_a_promise_twice(acme, clock):
    promise()
    at(clock, date(2026, 3, 9))
    cases = Cases(acme.ledger)
    stale = acme.ledger.store.records("ACME")
    cases.review("ACME", POLICY)

    assert cases.review("ACME", POLICY, stale).changes == []
    assert len(audited(acme, "promise.broken")) == 1
    assert acme.audit.verify().intact


# The collections core, end to end


def test_a_pending_promise_pauses_reminders_and_a_broken_one_moves_the_account_up(acme, clock):
    # Given the customer promised to pay INV-1 on 3 March by SEPA
    promise()

    # When the account is looked at on Thursday 5 March, then INV-1 is paused by the promise
    at(clock, date(2026, 3, 5))
    review = Cases(acme.ledger).review("ACME", POLICY)
    state = build_state(review.records, clock.now(), POLICY)
    (paused,) = [i for i in state.invoices if i.number == "INV-1"]
    assert paused.pause is not None
    assert paused.pause.until == date(2026, 3, 8)
    assert not [c for c in build_candidates(state, POLICY) if isinstance(c, SendReminder)]

    # When nothing arrived and it is looked at on Monday 9 March
    at(clock, date(2026, 3, 9))
    review = Cases(acme.ledger).review("ACME", POLICY)
    state = build_state(review.records, clock.now(), POLICY)

    # Then the promise is broken and INV-1 gets the firm step, ahead of its calendar
    assert [c.status for c in review.records.cases] == [CaseStatus.BROKEN]
    (reminder,) = [c for c in build_candidates(state, POLICY) if isinstance(c, SendReminder)]
    assert reminder.tone is Tone.FIRM
    assert reminder.invoice_numbers == ("INV-1",)
    assert f"after broken promise {review.records.cases[0].case_id}" in reminder.reason
    (inv_1,) = [i for i in state.invoices if i.number == "INV-1"]
    assert inv_1.days_past_due == 10  # the calendar alone would still be at the friendly step
    assert state.open_balance == Decimal("2400.00")
