"""The policy in AWS AppConfig: one hosted, schema-checked JSON document that functions read
through the AppConfig Data API (`POLICY_SOURCE=appconfig:<application>/<environment>/<profile>`).

The first version is the example policy shipped in `shared/policy/example-policy.yaml`, with
the approvers named at deploy time (`approverEmails`) put in: the first of them becomes the
fallback approver, and every approval rule asks all of them, in the order given; everything
else in the example is kept as written. The document is validated with the same code the
functions run (`shared.policy.source.parse_policy`) before synth lets it through.

After the first deploy the policy is the company's to change: create and deploy a new version
of the `policy` profile in AppConfig, and the profile's JSON Schema refuses a malformed one
before it reaches any function. A later `cdk deploy` publishes a version of its own again only
if the bundled example or `approverEmails` changed, and then replaces whatever is deployed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from aws_cdk import Duration, Stack
from aws_cdk import aws_appconfig as appconfig
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.manifest import PROJECT_ROOT
from infra.settings import SettingsError
from shared.approvals.settings import VARIABLES as APPROVAL_VARIABLES
from shared.policy.models import Policy
from shared.policy.source import PolicyInvalid, parse_policy

POLICY_SOURCE_VARIABLE = APPROVAL_VARIABLES["policy_source"]
EXAMPLE_POLICY = PROJECT_ROOT / "shared" / "policy" / "example-policy.yaml"
ENVIRONMENT_NAME = "live"
PROFILE_NAME = "policy"
# AppConfig checks JSON Schema validators as draft 4, whatever newer draft pydantic writes.
JSON_SCHEMA_DRAFT_4 = "http://json-schema.org/draft-04/schema#"
# The most a validator may hold (AWS::AppConfig::ConfigurationProfile Validators Content).
VALIDATOR_MAX_CHARACTERS = 32768
_READ_ACTIONS = ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")


class PolicyConfig(Construct):
    """An AppConfig application named after the stack, its `live` environment and the hosted
    `policy` profile, deployed all at once so a new version is in force within the functions'
    refresh interval (a minute)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, approver_emails: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)

        # The stack name is unique in the account and Region, so two autoar stacks never read
        # each other's policy through an application name they share.
        application_name = Stack.of(self).stack_name
        self.application = appconfig.Application(
            self,
            "Application",
            application_name=application_name,
            description="autoar: the policy the agent acts within",
        )
        self.environment = appconfig.Environment(
            self,
            "Environment",
            application=self.application,
            environment_name=ENVIRONMENT_NAME,
            description="The policy in force",
        )
        # AllAtOnce without AppConfig's ten-minute bake: the document was validated before it
        # was deployed, and a policy change that waits ten minutes surprises whoever made it.
        strategy = appconfig.DeploymentStrategy(
            self,
            "AllAtOnce",
            rollout_strategy=appconfig.RolloutStrategy.linear(
                growth_factor=100,
                deployment_duration=Duration.minutes(0),
                final_bake_time=Duration.minutes(0),
            ),
            description="autoar policy: every function at once, no bake time",
        )
        self.profile = appconfig.HostedConfiguration(
            self,
            "Policy",
            application=self.application,
            name=PROFILE_NAME,
            description="autoar policy (JSON); validated against the policy's JSON Schema",
            type=appconfig.ConfigurationType.FREEFORM,
            content=appconfig.ConfigurationContent.from_inline_json(
                initial_policy(approver_emails)
            ),
            validators=[appconfig.JsonSchemaValidator.from_inline(policy_json_schema())],
            deploy_to=[self.environment],
            deployment_strategy=strategy,
        )
        self.source = f"appconfig:{application_name}/{ENVIRONMENT_NAME}/{PROFILE_NAME}"

    @property
    def profile_arn(self) -> str:
        """The profile as the AppConfig Data API authorizes reads of it, in this environment."""
        arn: str = Stack.of(self).format_arn(
            service="appconfig",
            resource="application",
            resource_name=(
                f"{self.application.application_id}/environment/"
                f"{self.environment.environment_id}/configuration/"
                f"{self.profile.configuration_profile_id}"
            ),
        )
        return arn

    def allow_reads_from(self, function: lambda_.Function) -> None:
        """Tell the function where the policy is (POLICY_SOURCE) and let it read this profile."""
        function.add_environment(POLICY_SOURCE_VARIABLE, self.source)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=list(_READ_ACTIONS), resources=[self.profile_arn])
        )


def initial_policy(approver_emails: Sequence[str]) -> str:
    """The example policy as JSON with the deploy-time approvers in; refused unless it parses
    and validates exactly as the functions will read it."""
    if not approver_emails:
        raise SettingsError("approverEmails: the policy needs at least one approver")
    document = yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8"))
    approvals = document["approvals"]
    approvals["fallback_approver"] = approver_emails[0]
    for rule in approvals.get("rules", []):
        rule["approvers"] = list(approver_emails)

    # json.dumps refuses what YAML reads but JSON cannot hold (an unquoted date, say).
    content = json.dumps(document, indent=2, ensure_ascii=False)
    try:
        parse_policy(content)
    except PolicyInvalid as invalid:
        raise SettingsError(
            "the example policy with approverEmails put in does not validate: "
            + "; ".join(invalid.reasons)
        ) from None
    return content


def policy_json_schema() -> str:
    """The policy model's JSON Schema, rewritten in the draft 4 that AppConfig checks with.

    Only the shape is enforced there (types, required and unknown fields, enumerations,
    lengths and bounds); the functions still validate every version they read in full and keep
    the previous one in force when it fails. `format` is dropped because draft 4 knows no
    `time` format and the policy writes times as "09:00".
    """
    schema = _draft_4(Policy.model_json_schema())
    schema["$schema"] = JSON_SCHEMA_DRAFT_4
    text = json.dumps(schema, separators=(",", ":"), sort_keys=True)
    if len(text) > VALIDATOR_MAX_CHARACTERS:
        raise ValueError(
            f"the policy's JSON Schema is {len(text)} characters; AppConfig accepts "
            f"{VALIDATOR_MAX_CHARACTERS} at most in a validator"
        )
    return text


# Keywords whose values map names to schemas, hold data, or mean nothing to draft 4.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
_DATA_KEYWORDS = frozenset({"default", "enum", "examples"})
_DROPPED_KEYWORDS = frozenset({"format", "propertyNames", "discriminator"})
_EXCLUSIVE_BOUNDS = {"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}
_DEFS_POINTER = "#/$defs/"


def _draft_4(node: Any) -> Any:
    if isinstance(node, list):
        return [_draft_4(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    rewritten: dict[str, Any] = {}
    for keyword, value in node.items():
        if keyword in _DROPPED_KEYWORDS:
            continue
        if keyword in _SCHEMA_MAPS:
            name = "definitions" if keyword == "$defs" else keyword
            rewritten[name] = {key: _draft_4(schema) for key, schema in value.items()}
        elif keyword in _DATA_KEYWORDS:
            rewritten[keyword] = value
        elif keyword == "const":
            rewritten["enum"] = [value]
        elif keyword == "$ref":
            rewritten[keyword] = value.replace(_DEFS_POINTER, "#/definitions/")
        elif keyword in _EXCLUSIVE_BOUNDS and not isinstance(value, bool):
            # Draft 4 writes "> 0" as a bound and a flag that makes it exclusive.
            bound = _EXCLUSIVE_BOUNDS[keyword]
            if bound in node:
                raise ValueError(f"a schema has both {bound} and {keyword}")
            rewritten[bound] = value
            rewritten[keyword] = True
        else:
            rewritten[keyword] = _draft_4(value)
    return rewritten
