"""Builds and synthesizes the CDK app as `cdk synth` does, for the infra tests to inspect."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# jsii reads these when its Node.js runtime starts, on the first aws_cdk import.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.manifest import INBOX, PROJECT_ROOT, TABLES, Function
from infra.stack import AutoarStack

DEPLOY_CONTEXT: dict[str, Any] = {
    "mailDomain": "ar.example.com",
    "senderAddress": "collections@ar.example.com",
    "senderName": "Example Receivables",
    "approverEmails": "controller@example.com,cfo@example.com",
    "alarmEmail": "ops@example.com",
    # Neither the setting's default nor the manifest's schedule, so a test can tell which won.
    "sweepSchedule": "rate(15 minutes)",
}


@dataclass(frozen=True)
class Synthesized:
    app: cdk.App
    stack: AutoarStack
    template: Template
    template_json: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template_json["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def function(self, spec: Function) -> tuple[str, dict[str, Any]]:
        """The logical id and properties of the one Lambda function running `spec`'s handler."""
        found = [
            (logical_id, resource["Properties"])
            for logical_id, resource in self.of_type("AWS::Lambda::Function").items()
            if resource["Properties"].get("Handler") == spec.handler
        ]
        assert len(found) == 1, f"exactly one function runs {spec.handler}"
        return found[0]

    def role_statements(self, role_arn: Any) -> list[dict[str, Any]]:
        """Every statement of the identity policies attached to the role `role_arn` names
        (a function's Role or a state machine's RoleArn: Fn::GetAtt of the role)."""
        role_id = role_arn["Fn::GetAtt"][0]
        return [
            statement
            for policy in self.of_type("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"].get("Roles", [])
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

    def function_statements(self, spec: Function) -> list[dict[str, Any]]:
        return self.role_statements(self.function(spec)[1]["Role"])


BASE_VARIABLES = {
    *(table.env_var for table in TABLES),
    INBOX.env_var,
    "REVIEW_SHARDS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}
"""What every function is told: the resources it may use, and how it logs and counts."""


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def queue_refuses_plain_http(synthesized: Synthesized, queue_id: str) -> bool:
    """Whether the queue's policy denies every request made without TLS."""
    return any(
        statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in policy["Properties"]["Queues"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def allows(statement: dict[str, Any], action: str) -> bool:
    actions = statement["Action"]
    return statement["Effect"] == "Allow" and action in (
        [actions] if isinstance(actions, str) else actions
    )


def resources_of(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


PSEUDO_PARAMETERS = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def resolve(value: Any) -> str:
    """A CloudFormation value as a plausible deployed string: pseudo parameters get example
    values, and a Ref or GetAtt of a resource becomes `<logical id>-deployed`."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return PSEUDO_PARAMETERS.get(value["Ref"], f"{value['Ref']}-deployed")
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"{logical_id}-{attribute}-deployed"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(part) for part in parts)
    raise ValueError(f"cannot resolve {value}")


def flatten(value: Any) -> str:
    """A CloudFormation value as text, intrinsic functions included, for substring checks."""
    if isinstance(value, dict):
        return "".join(flatten(item) for item in value.values())
    if isinstance(value, list):
        return "".join(flatten(item) for item in value)
    return str(value)


def cdk_json_context() -> dict[str, Any]:
    """The feature flags `cdk synth` runs with, so the tests see the template AWS will get."""
    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return context


def synthesize_app(outdir: Path, context: Mapping[str, Any]) -> Synthesized:
    """Synthesize with the deploy settings in `context` and none from this shell's environment."""
    app = cdk.App(context={**cdk_json_context(), **context}, outdir=str(outdir))
    stack = build_app(app, environ={})
    # The validation plugins run here: an unacknowledged cdk-nag finding fails synth, and the
    # error lists each finding with the id that would acknowledge it.
    app.synth()
    template = Template.from_stack(stack)
    return Synthesized(
        app=app,
        stack=stack,
        template=template,
        template_json=dict(template.to_json()),
        outdir=outdir,
    )
