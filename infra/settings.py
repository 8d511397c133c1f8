"""Deploy settings, from CDK context (`-c name=value`) or AUTOAR_* variables; a missing or bad one
stops synth with a message naming it and how to set it. Only the sweep schedule has a default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from infra.manifest import SWEEP_SCHEDULE

DEFAULT_SWEEP_SCHEDULE = SWEEP_SCHEDULE.expression


class SettingsError(ValueError):
    """A deploy setting is missing or invalid; the message says which and how to set it."""


@dataclass(frozen=True)
class SettingSource:
    """Where one setting comes from: its CDK context key, its environment variable, an example."""

    field: str
    context_key: str
    env_var: str
    example: str

    def how_to_set(self) -> str:
        return (
            f"pass `cdk deploy -c {self.context_key}={self.example}` "
            f"or set the {self.env_var} environment variable"
        )


SOURCES: tuple[SettingSource, ...] = (
    SettingSource("mail_domain", "mailDomain", "AUTOAR_MAIL_DOMAIN", "ar.example.com"),
    SettingSource(
        "sender_address", "senderAddress", "AUTOAR_SENDER_ADDRESS", "collections@ar.example.com"
    ),
    SettingSource("sender_name", "senderName", "AUTOAR_SENDER_NAME", "'Acme Receivables'"),
    SettingSource(
        "approver_emails",
        "approverEmails",
        "AUTOAR_APPROVER_EMAILS",
        "controller@example.com,cfo@example.com",
    ),
    SettingSource("sweep_schedule", "sweepSchedule", "AUTOAR_SWEEP_SCHEDULE", "'rate(1 hour)'"),
    SettingSource("alarm_email", "alarmEmail", "AUTOAR_ALARM_EMAIL", "ops@example.com"),
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_RATE = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minute|hour|day)(?P<plural>s?)\)$")
_CRON = re.compile(r"^cron\(\S+( \S+){5}\)$")


def _domain(value: str) -> str:
    domain = value.strip().lower()
    if len(domain) > 253 or not _DOMAIN.match(domain):
        raise ValueError("must be a domain name such as ar.example.com")
    return domain


def _email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or any(char.isspace() for char in local):
        raise ValueError(f"{value!r} is not an email address")
    return f"{local}@{_domain(domain)}"


def _sender_name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > 120:
        raise ValueError("must be the name emails are signed with, 1 to 120 characters")
    if any(char in name for char in '<>"@'):
        raise ValueError('must be a plain name, without <, >, " or @')
    return name


def _email_list(value: object) -> object:
    # A list arrives from cdk.json; `-c` and environment variables give one comma-separated string.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _schedule(value: str) -> str:
    expression = value.strip()
    rate = _RATE.match(expression)
    if rate:
        # EventBridge rejects "rate(1 hours)" and "rate(5 minute)".
        singular = rate["value"] == "1"
        if singular == bool(rate["plural"]):
            raise ValueError(f"{expression!r}: use a singular unit for 1 and a plural one above")
        return expression
    if _CRON.match(expression):
        return expression
    raise ValueError("must be an EventBridge expression such as 'rate(1 hour)' or 'cron(...)'")


EmailAddress = Annotated[str, AfterValidator(_email)]


class DeploySettings(BaseModel):
    """What a company chooses when it deploys autoar into its account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mail_domain: Annotated[str, AfterValidator(_domain)]
    sender_address: EmailAddress
    sender_name: Annotated[str, AfterValidator(_sender_name)]
    """Who signs the collections emails, and the From name they carry."""
    approver_emails: Annotated[
        tuple[EmailAddress, ...], BeforeValidator(_email_list), Field(min_length=1)
    ]
    sweep_schedule: Annotated[str, AfterValidator(_schedule)] = DEFAULT_SWEEP_SCHEDULE
    alarm_email: EmailAddress | None = None


def read_settings(context: Callable[[str], object], environ: Mapping[str, str]) -> DeploySettings:
    """Read each setting from context, else the environment; SettingsError names every fault."""
    raw: dict[str, object] = {}
    for source in SOURCES:
        value = context(source.context_key)
        if value is None or value == "":
            value = environ.get(source.env_var)
        if value is not None and value != "":
            raw[source.field] = value

    try:
        return DeploySettings.model_validate(raw)
    except ValidationError as error:
        raise SettingsError(_explain(error)) from None


def _explain(error: ValidationError) -> str:
    by_field = {source.field: source for source in SOURCES}
    lines = []
    for problem in error.errors():
        source = by_field[str(problem["loc"][0])]
        if problem["type"] == "missing":
            lines.append(f"missing deploy setting {source.context_key}: {source.how_to_set()}")
        else:
            reason = str(problem["msg"]).removeprefix("Value error, ")
            lines.append(
                f"invalid deploy setting {source.context_key}: {reason}; {source.how_to_set()}"
            )
    return "\n".join(dict.fromkeys(lines))
