"""Deploy settings: read from CDK context or AUTOAR_* variables, and refused when missing or bad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from aws_cdk import App

from infra.app import build_app
from infra.manifest import PROJECT_ROOT
from infra.settings import DEFAULT_SWEEP_SCHEDULE, SettingsError, read_settings
from tests.infra.stack_synth import DEPLOY_CONTEXT

pytestmark = pytest.mark.infra


def context_without(*keys: str, **changes: Any) -> dict[str, Any]:
    context = {key: value for key, value in DEPLOY_CONTEXT.items() if key not in keys}
    return {**context, **changes}


def test_settings_come_from_context() -> None:
    settings = read_settings(DEPLOY_CONTEXT.get, {})

    assert settings.mail_domain == "ar.example.com"
    assert settings.sender_address == "collections@ar.example.com"
    assert settings.sender_name == "Example Receivables"
    assert settings.approver_emails == ("controller@example.com", "cfo@example.com")
    assert settings.alarm_email == "ops@example.com"
    assert settings.sweep_schedule == DEPLOY_CONTEXT["sweepSchedule"]


def test_the_sweep_runs_hourly_unless_told_otherwise() -> None:
    settings = read_settings(context_without("sweepSchedule").get, {})

    assert settings.sweep_schedule == DEFAULT_SWEEP_SCHEDULE == "rate(1 hour)"


def test_environment_fills_in_what_context_leaves_out() -> None:
    # Given no mail domain in context but one in the environment
    context = context_without("mailDomain")

    # When settings are read; Then the environment's value is used, context still wins elsewhere
    settings = read_settings(
        context.get,
        {"AUTOAR_MAIL_DOMAIN": "Mail.Example.org", "AUTOAR_SENDER_ADDRESS": "x@example.org"},
    )
    assert settings.mail_domain == "mail.example.org"
    assert settings.sender_address == "collections@ar.example.com"


def test_approvers_may_be_given_as_a_list() -> None:
    settings = read_settings(context_without(approverEmails=["a@example.com"]).get, {})

    assert settings.approver_emails == ("a@example.com",)


def test_missing_mail_domain_names_the_setting_and_how_to_set_it() -> None:
    with pytest.raises(SettingsError) as raised:
        read_settings(context_without("mailDomain").get, {})

    message = str(raised.value)
    assert "mailDomain" in message
    assert "cdk deploy -c mailDomain=" in message
    assert "AUTOAR_MAIL_DOMAIN" in message


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("approverEmails", "", "missing deploy setting approverEmails"),
        ("approverEmails", "controller", "invalid deploy setting approverEmails"),
        ("senderAddress", "collections@", "invalid deploy setting senderAddress"),
        ("senderName", "", "missing deploy setting senderName"),
        ("senderName", "Acme <ar@acme.example>", "invalid deploy setting senderName"),
        ("mailDomain", "localhost", "invalid deploy setting mailDomain"),
        ("sweepSchedule", "every hour", "invalid deploy setting sweepSchedule"),
        ("sweepSchedule", "rate(1 hours)", "invalid deploy setting sweepSchedule"),
        ("sweepSchedule", "rate(5 minute)", "invalid deploy setting sweepSchedule"),
        ("alarmEmail", "ops", "invalid deploy setting alarmEmail"),
    ],
)
def test_a_bad_setting_is_refused_by_name(key: str, value: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        read_settings(context_without(**{key: value}).get, {})


@pytest.mark.parametrize(
    "schedule", ["rate(1 hour)", "rate(15 minutes)", "cron(0 8 ? * MON-FRI *)"]
)
def test_eventbridge_schedules_are_accepted(schedule: str) -> None:
    settings = read_settings(context_without(sweepSchedule=schedule).get, {})

    assert settings.sweep_schedule == schedule


def test_building_the_app_without_a_mail_domain_fails() -> None:
    app = App(context=context_without("mailDomain"))

    with pytest.raises(SettingsError, match="mailDomain"):
        build_app(app, {})


def test_cdk_synth_without_a_mail_domain_exits_naming_it() -> None:
    # Given the context the CDK CLI would hand the app, without a mail domain
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AUTOAR_")}
    environ["CDK_CONTEXT_JSON"] = json.dumps(context_without("mailDomain"))

    # When the app runs as `cdk synth` runs it
    result = subprocess.run(
        [sys.executable, "-m", "infra.app"],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it stops, saying which setting is missing and how to give it
    assert result.returncode == 1
    assert "missing deploy setting mailDomain" in result.stderr
    assert "cdk deploy -c mailDomain=" in result.stderr
