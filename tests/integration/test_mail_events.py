"""mail_events on moto: SES bounces and complaints mark the contact, name the next one to write
to, or put the account in front of a person when nobody is left; each notification once."""

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from events import load
from functions.mail_events.handler import lambda_handler
from shared.audit.models import SYSTEM_CHAIN
from shared.collections.candidates import EscalateToPerson, build_candidates
from shared.collections.state import build_state
from shared.errors import InvalidInput
from shared.ledger.models import ContactStatus
from tests.collections_factories import example_policy
from tests.factories import contact, invoice, profile

POLICY = example_policy()


@dataclass
class FakeContext:
    function_name: str = "mail_events"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:mail_events"
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000002"


@pytest.fixture
def acme(services, integrator):
    """ACME writes to accounts payable (ap@customer.example) first, then to billing."""
    people = [contact("ap"), contact("billing", role="billing", name="Bo Billing")]
    services.ledger.create_account("ACME", profile(contacts=people), integrator)
    return services


def notify(event_name: str, **message_changes) -> dict:
    event = load(f"sns/{event_name}")
    if message_changes:
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        message.update(message_changes)
        event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return lambda_handler(event, FakeContext())


def statuses(services, account_id="ACME") -> dict[str, ContactStatus]:
    account = services.ledger.store.account(account_id)
    return {c.contact_id: c.status for c in account.contacts}


def trail(services, chain="ACME") -> list[str]:
    return [event.action for event in services.audit.events(chain)]


def test_a_permanent_bounce_marks_the_contact_and_names_the_next_one(acme):
    # When SES reports that mail to accounts payable bounced for good
    response = notify("bounce_permanent")

    # Then the contact is marked bounced through a versioned profile update
    assert statuses(acme) == {"ap": ContactStatus.BOUNCED, "billing": ContactStatus.ACTIVE}
    assert acme.ledger.store.account("ACME").version == 2
    # And the trail records the update, the bounce and who outreach writes to now
    assert trail(acme)[-3:] == ["account.updated", "contact.bounced", "contact.replaced"]
    bounced, replaced = acme.audit.events("ACME")[-2:]
    assert bounced.inputs["contacts"] == ["ap"]
    assert bounced.inputs["bounce_type"] == "Permanent"
    assert bounced.inputs["ses_message_id"].startswith("0102018e0a1b2c3d")
    assert replaced.inputs == {"replaced": ["ap"], "recipient": "billing"}
    # And no address appears anywhere in the trail
    assert "customer.example" not in str([e.model_dump() for e in acme.audit.events("ACME")])
    (outcome,) = response["outcomes"]
    assert (outcome["status"], outcome["recipient"], outcome["no_contact_left"]) == (
        "recorded",
        "billing",
        False,
    )
    # And the collections core now writes to billing
    state = build_state(acme.ledger.store.records("ACME"), acme.clock.now(), POLICY)
    assert state.recipient.contact_id == "billing"


def test_a_notification_delivered_twice_changes_the_account_once(acme):
    notify("bounce_permanent")

    again = notify("bounce_permanent")

    assert again["outcomes"][0]["status"] == "already_recorded"
    assert acme.ledger.store.account("ACME").version == 2
    assert trail(acme).count("contact.bounced") == 1
    assert acme.audit.verify().intact


def test_a_complaint_marks_the_contact_complained(acme):
    notify("complaint")

    assert statuses(acme)["ap"] is ContactStatus.COMPLAINED
    complained = next(e for e in acme.audit.events("ACME") if e.action == "contact.complained")
    assert complained.inputs["feedback_type"] == "abuse"


def test_a_transient_bounce_is_only_audited(acme):
    notify("bounce_transient")

    assert statuses(acme) == {"ap": ContactStatus.ACTIVE, "billing": ContactStatus.ACTIVE}
    assert acme.ledger.store.account("ACME").version == 1
    soft = acme.audit.events("ACME")[-1]
    assert (soft.action, soft.outcome) == ("contact.soft_bounced", "contact kept")


def test_when_no_contact_is_left_the_account_goes_to_a_person(services, integrator, clock):
    # Given an account whose only contact is the one that bounces, with a reminder due
    services.ledger.create_account("SOLO", profile(), integrator)
    services.ledger.create_invoices([invoice("S-1", account_id="SOLO")], integrator)

    # When the bounce arrives
    (outcome,) = notify("bounce_permanent")["outcomes"]

    # Then the trail says no contact is left, with what a person needs to pick it up
    assert outcome["no_contact_left"] is True
    assert trail(services, "SOLO")[-2:] == ["contact.bounced", "contact.none_left"]
    none_left = services.audit.events("SOLO")[-1]
    assert none_left.inputs["context"]["contacts"] == "ap: bounced"
    assert "no contact of the account can be mailed" in none_left.rationale
    # And the collections core sends nothing; a due reminder goes to a person instead
    clock.advance(timedelta(days=5))
    state = build_state(services.ledger.store.records("SOLO"), clock.now(), POLICY)
    assert state.recipient is None
    kinds = {type(c) for c in build_candidates(state, POLICY)}
    assert EscalateToPerson in kinds
    assert not [k for k in kinds if k.__name__.startswith("Send")]


def test_an_address_on_two_accounts_is_marked_on_both(acme, integrator):
    acme.ledger.create_account("GLOBEX", profile("Globex"), integrator)

    outcomes = notify("bounce_permanent")["outcomes"]

    assert [o["account_id"] for o in outcomes] == ["ACME", "GLOBEX"]
    assert statuses(acme, "GLOBEX") == {"ap": ContactStatus.BOUNCED}


def test_feedback_on_an_address_no_account_lists_goes_to_the_system_trail_masked(services):
    bounce = json.loads(load("sns/bounce_permanent")["Records"][0]["Sns"]["Message"])
    bounce["bounce"]["bouncedRecipients"] = [{"emailAddress": "cfo@example.com"}]

    notify("bounce_permanent", bounce=bounce["bounce"])

    unmatched = services.audit.events(SYSTEM_CHAIN)[-1]
    assert unmatched.action == "mail.feedback_unmatched"
    assert unmatched.inputs["recipients"] == ["c***@example.com"]


def test_other_ses_events_are_skipped_and_a_malformed_one_is_refused(acme):
    assert notify("bounce_permanent", eventType="Delivery") == {"outcomes": []}
    assert trail(acme) == ["account.created"]

    event = load("sns/complaint")
    event["Records"][0]["Sns"]["Message"] = "not json"
    with pytest.raises(InvalidInput, match=r"Records\[0\]\.Sns\.Message"):
        lambda_handler(event, FakeContext())
