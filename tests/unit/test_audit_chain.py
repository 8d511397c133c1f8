from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.audit.chain import seal, verify_chain
from shared.audit.models import GENESIS_HASH, Actor, ActorKind, Entry

AGENT = Actor(kind=ActorKind.AGENT, id="autoar")
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def chain_of(length: int, account: str = "ACME") -> list[dict]:
    events, prev = [], GENESIS_HASH
    for sequence in range(1, length + 1):
        entry = Entry(
            chain=account,
            actor=AGENT,
            action="invoice.created",
            inputs={"number": f"INV-{sequence}", "amount": Decimal("1200.50")},
            rationale="posted by the ERP",
        )
        event = seal(
            entry, sequence=sequence, at=START + timedelta(minutes=sequence), prev_hash=prev
        )
        prev = event.hash
        events.append(event.model_dump(mode="python"))
    return events


def test_an_untouched_chain_verifies():
    assert verify_chain("ACME", chain_of(5)) is None


def test_numbers_read_back_from_dynamodb_as_decimals_still_verify():
    stored = chain_of(2)
    assert stored[0]["inputs"]["amount"] == "1200.5"
    for event in stored:
        event["sequence"] = Decimal(event["sequence"])
    assert verify_chain("ACME", stored) is None


def test_a_removed_event_breaks_the_chain_where_it_was():
    events = chain_of(4)
    del events[1]
    found = verify_chain("ACME", events)
    assert found is not None
    assert found.sequence == 2


def test_reordered_events_break_the_chain():
    events = chain_of(3)
    events[1], events[2] = events[2], events[1]
    assert verify_chain("ACME", events) is not None


def test_an_event_copied_from_another_account_does_not_fit():
    events = chain_of(2)
    foreign = chain_of(3, account="OTHER")[2]
    found = verify_chain("ACME", [*events, foreign])
    assert found is not None
    assert found.sequence == 3


_FIELDS = [
    "action",
    "rationale",
    "outcome",
    "at",
    "actor",
    "inputs",
    "policy_version",
    "prev_hash",
    "hash",
    "sequence",
    "model",
    "chain",
]


@given(
    position=st.integers(min_value=0, max_value=5),
    field=st.sampled_from(_FIELDS),
    text=st.text(min_size=1, max_size=20),
)
def test_changing_any_field_of_any_event_names_that_event(position, field, text):
    events = chain_of(6)
    original = events[position][field]
    events[position][field] = (
        {"forged": text} if isinstance(original, dict) else f"{original}{text}"
    )
    found = verify_chain("ACME", events)
    assert found is not None
    assert found.sequence == position + 1
