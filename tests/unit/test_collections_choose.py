"""The rules choose the most pressing allowed action, and nothing that was not offered counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.collections.candidates import SendReminder, Wait, build_candidates
from shared.collections.choose import Choice, ChoiceNotOffered, RulesReasoner, ensure_offered
from shared.collections.state import build_state
from shared.policy.models import Policy
from tests.collections_factories import NOW, example_policy, invoice, records, touch

REASONER = RulesReasoner()


def decide(policy: Policy | None = None, **parts):
    policy = policy or example_policy()
    state = build_state(records(**parts), NOW, policy)
    candidates = build_candidates(state, policy)
    return REASONER.choose(state, candidates), candidates


def test_the_most_pressing_email_is_chosen_over_a_statement_or_a_plan_offer():
    # Given a final notice, a plan offer and a statement all on offer
    choice, candidates = decide(invoices=[invoice("INV-1", 50, "3000.00")])
    assert {c.kind for c in candidates} >= {"send_final_notice", "propose_payment_plan"}

    # Then the final notice goes, and the rationale says why in a sentence
    assert choice.candidate.kind == "send_final_notice"
    assert choice.rationale.startswith("Sending one final notice email for 1 invoice(s) (INV-1)")
    assert choice.reasoner == "rules"


def test_a_small_balance_is_cleared_before_any_email_lists_it():
    choice, _ = decide(invoices=[invoice("INV-1", 70, "100.00", "5.00"), invoice("INV-2", 20)])

    assert choice.candidate.kind == "write_off_small_balance"


def test_a_person_comes_before_any_email():
    final = touch(NOW - timedelta(days=20), {"INV-1": 30}, "final_notice")

    choice, _ = decide(invoices=[invoice("INV-1", 50), invoice("INV-2", 4)], touches=[final])

    assert choice.candidate.kind == "escalate_to_person"


def test_with_nothing_due_the_rules_wait_for_the_next_step():
    choice, _ = decide(example_policy(statements={}), invoices=[invoice("INV-1", -10)])

    assert isinstance(choice.candidate, Wait)
    # The courtesy step (3 days before the due date) falls on Monday 9 March, 09:00 in Berlin
    assert choice.rationale.startswith("Nothing is due now; next look at 2026-03-09 08:00 UTC")


def test_a_choice_must_be_exactly_a_candidate_that_was_offered():
    choice, candidates = decide(invoices=[invoice("INV-1", 20)])
    assert ensure_offered(choice, candidates) is not None
    reminder = choice.candidate
    assert isinstance(reminder, SendReminder)

    # When a reasoner hands back the reminder with an invoice added, or something never offered
    widened = reminder.model_copy(update={"invoice_numbers": ("INV-1", "INV-9")})
    invented = Wait(until=NOW, reason="because the customer asked", rule="none")

    # Then neither is accepted
    for candidate in (widened, invented):
        with pytest.raises(ChoiceNotOffered):
            ensure_offered(Choice(candidate=candidate, rationale="x", reasoner="model"), candidates)


def test_a_choice_round_trips_through_json_for_the_audit_and_a_model():
    choice, candidates = decide(invoices=[invoice("INV-1", 20)])

    again = Choice.model_validate_json(choice.model_dump_json())

    assert ensure_offered(again, candidates) == choice.candidate
