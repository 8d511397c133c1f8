"""The collections section: what a finance team writes, and every self-contradiction refused."""

from __future__ import annotations

import json
from datetime import time
from decimal import Decimal
from typing import Any

import pytest

from shared.actions.models import ActionKind
from shared.collections.policy import Tone, Weekday
from shared.ledger.models import PaymentMethod
from shared.policy.source import PolicyInvalid, parse_policy
from tests.collections_factories import EXAMPLE_POLICY, example_policy, policy_document


def refusal(document: dict[str, Any]) -> str:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(json.dumps(document))
    return "\n".join(refused.value.reasons)


def with_collections(**changes: Any) -> dict[str, Any]:
    document = policy_document()
    document["collections"].update(changes)
    return document


def test_the_example_policy_reads_as_written():
    # Given the shipped example, when it is parsed
    policy = parse_policy(EXAMPLE_POLICY.read_text())

    # Then its collections section says what the comments say
    rules = policy.collections
    first, *_, last = rules.cadence["standard"]
    assert (first.days_from_due, first.tone, last.tone) == (-3, Tone.COURTESY, Tone.FINAL_NOTICE)
    assert rules.send_window.start == time(9, 0)
    assert rules.business_day_numbers == {0, 1, 2, 3, 4}
    assert rules.promises.clearing_days_for(PaymentMethod.CHECK) == 7
    assert rules.payment_plans.max_amount_without_approval == Decimal("10000")
    assert rules.one_email_per_account


def test_without_a_collections_section_the_agent_stays_silent():
    # Given a policy written before collections existed
    document = policy_document()
    del document["collections"]

    # When it is parsed, then it still validates and sends nothing, settles nothing alone
    rules = parse_policy(json.dumps(document)).collections
    assert not rules.outreach_enabled
    assert rules.small_balances.write_off_below == 0
    assert rules.payment_plans.max_amount_without_approval == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {
                "cadence": {
                    **policy_document()["collections"]["cadence"],
                    "standard": [
                        {"days_from_due": 10, "tone": "friendly", "template": "friendly"},
                        {"days_from_due": 3, "tone": "firm", "template": "firm"},
                    ],
                }
            },
            "steps must be sorted by days_from_due",
        ),
        (
            {
                "cadence": {
                    **policy_document()["collections"]["cadence"],
                    "standard": [
                        {"days_from_due": 3, "tone": "stern", "template": "firm"},
                    ],
                }
            },
            "courtesy', 'friendly', 'firm' or 'final_notice'",
        ),
        (
            {
                "cadence": {
                    **policy_document()["collections"]["cadence"],
                    "standard": [
                        {"days_from_due": 3, "tone": "firm", "template": "frim"},
                    ],
                }
            },
            "unknown template 'frim'",
        ),
        (
            {
                "cadence": {
                    **policy_document()["collections"]["cadence"],
                    "standard": [
                        {"days_from_due": 3, "tone": "firm", "template": "firm"},
                        {"days_from_due": 9, "tone": "friendly", "template": "friendly"},
                    ],
                }
            },
            "the tone never steps down the ladder (friendly follows firm)",
        ),
        (
            {
                "cadence": {
                    **policy_document()["collections"]["cadence"],
                    "standard": [
                        {"days_from_due": 3, "tone": "final_notice", "template": "final_notice"},
                        {"days_from_due": 9, "tone": "final_notice", "template": "final_notice"},
                    ],
                }
            },
            "a final notice can only be the last step",
        ),
        (
            {"cadence": {"standard": policy_document()["collections"]["cadence"]["standard"]}},
            "segments high_risk, strategic are missing",
        ),
        ({"send_window": {"start": "17:00", "end": "09:00"}}, "end 09:00 must be after start"),
        ({"business_days": []}, "business_days"),
        ({"business_days": ["mon", "mon"]}, "each weekday may appear once"),
        ({"business_days": ["monday"]}, "business_days"),
        ({"one_email_per_account": False}, "one combined email per account"),
        ({"pauses": {"account_statuses": ["active"]}}, "pausing active accounts"),
        ({"max_touches_per_week": 0}, "max_touches_per_week"),
        ({"promises": {"clearing_days": {"check": -1}}}, "check: between 0 and 60 days"),
    ],
)
def test_a_contradictory_collections_section_is_refused_with_the_reason(changes, reason):
    assert reason in refusal(with_collections(**changes))


def test_an_autonomous_write_off_limit_may_not_reach_into_an_approval_band():
    # Given write-offs from 50 EUR need approval, when the agent may write off up to 60 alone
    document = with_collections(small_balances={"write_off_below": "60"})

    # Then the policy is refused, naming both sides
    reason = refusal(document)
    assert "write_off_below (60) reaches into approval rule 'write-offs from 50 EUR'" in reason


def test_an_autonomous_plan_limit_may_not_reach_into_a_plan_approval_band():
    document = with_collections()
    document["approvals"]["rules"].append(
        {
            "name": "plans from 5,000",
            "action": "payment_plan",
            "min_amount": "5000",
            "approvers": ["ar-lead@example.com"],
        }
    )

    assert "max_amount_without_approval (10000) reaches into approval rule" in refusal(document)


def test_autonomy_is_refused_for_a_kind_reserved_for_people():
    document = with_collections()
    document["approvals"]["always_approve"].append("write_off")

    assert "reserves every write-off for a person" in refusal(document)


@pytest.mark.parametrize(
    ("amount", "currency", "instalments", "approver_rule"),
    [
        ("9000.00", "EUR", 3, None),
        ("10000.00", "EUR", 6, None),
        ("10000.01", "EUR", 3, "fallback: above 10000 EUR"),
        ("500.00", "EUR", 7, "fallback: more than 6 instalments"),
        ("10000.00", "USD", 3, None),
        ("500", "JPY", 3, "fallback: no exchange rate for the currency"),
    ],
)
def test_a_payment_plan_needs_approval_beyond_the_autonomous_limits(
    amount, currency, instalments, approver_rule
):
    rule = example_policy().plan_approval(Decimal(amount), currency, instalments)

    assert (rule.name if rule else None) == approver_rule


@pytest.mark.parametrize(
    ("amount", "currency", "alone"),
    [("24.99", "EUR", True), ("25.00", "EUR", False), ("27.00", "USD", True), ("5", "JPY", False)],
)
def test_small_balances_are_written_off_alone_only_below_the_limit(amount, currency, alone):
    assert example_policy().small_balance_write_off(Decimal(amount), currency) is alone


def test_agency_escalation_always_goes_to_a_person():
    rule = example_policy().approval_always(
        ActionKind.AGENCY_ESCALATION, Decimal("1"), "EUR", "agency escalation"
    )

    assert rule.approvers == ["controller@example.com"]


def test_segments_outside_the_cadence_follow_standard():
    rules = example_policy().collections

    assert rules.steps_for("vip")[0] == "standard"
    assert rules.steps_for("high_risk")[0] == "high_risk"


def test_weekdays_count_from_monday():
    assert [day.number for day in (Weekday.MON, Weekday.SUN)] == [0, 6]
