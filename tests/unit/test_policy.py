"""The policy decides what waits for a person; an invalid one never replaces a valid one."""

from decimal import Decimal
from pathlib import Path

import pytest

from shared.actions.models import ActionKind
from shared.policy.source import PolicyInvalid, PolicySource, parse_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "policy" / "example-policy.yaml"


@pytest.fixture
def policy():
    return parse_policy(EXAMPLE.read_text())


@pytest.mark.parametrize(
    ("amount", "currency", "rule"),
    [
        ("49.99", "EUR", None),
        ("50", "EUR", "write-offs from 50 EUR"),
        ("4999.99", "EUR", "write-offs from 50 EUR"),
        ("5000", "EUR", "write-offs from 5,000 EUR"),
        ("50", "USD", None),
        ("60", "USD", "write-offs from 50 EUR"),
    ],
)
def test_write_off_approval_follows_the_bands_in_base_currency(policy, amount, currency, rule):
    found = policy.approval_for(ActionKind.WRITE_OFF, Decimal(amount), currency)

    assert (found.name if found else None) == rule


def test_a_currency_without_a_rate_goes_to_the_fallback_approver(policy):
    found = policy.approval_for(ActionKind.WRITE_OFF, Decimal("1"), "JPY")

    assert found is not None
    assert found.approvers == ["controller@example.com"]
    assert "no exchange rate" in found.name


def test_kinds_the_policy_always_reserves_need_approval_at_any_amount(policy):
    found = policy.approval_for(ActionKind.LEGAL_ESCALATION, Decimal("1"), "EUR")

    assert found is not None
    assert found.approvers == ["controller@example.com"]


def test_an_invalid_policy_is_refused_with_every_reason():
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy('{"version": "v 1", "base_currency": "EURO", "approvals": {}}')

    reasons = "\n".join(refused.value.reasons)
    assert "version" in reasons
    assert "base_currency" in reasons
    assert "approvals.fallback_approver" in reasons


def test_a_band_must_have_its_maximum_above_its_minimum():
    text = EXAMPLE.read_text().replace('max_amount: "5000"', 'max_amount: "10"')

    with pytest.raises(PolicyInvalid, match="max_amount must be above min_amount"):
        parse_policy(text)


def test_an_invalid_new_version_leaves_the_previous_one_in_force(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(EXAMPLE.read_text())
    source = PolicySource(f"file:{path}")
    in_force = source.current()

    path.write_text("version: broken\nbase_currency: EUR\n")

    assert source.current() == in_force
    path.write_text(EXAMPLE.read_text().replace("2026-12-01.1", "2026-12-02.1"))
    assert source.current().version == "2026-12-02.1"


def test_an_unchanged_document_is_not_parsed_again(tmp_path, monkeypatch):
    # Given a policy in force
    path = tmp_path / "policy.yaml"
    path.write_text(EXAMPLE.read_text())
    source = PolicySource(f"file:{path}")
    in_force = source.current()
    parsed = []
    monkeypatch.setattr(
        "shared.policy.source.parse_policy", lambda text: parsed.append(text) or in_force
    )

    # When it is asked for again and again, the file unchanged
    for _ in range(3):
        assert source.current() is in_force

    # Then it was read each time but never parsed again
    assert parsed == []


def test_without_any_valid_version_the_reason_is_given(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("- not\n- a mapping\n")

    with pytest.raises(PolicyInvalid):
        PolicySource(f"file:{path}").current()
