"""The policy in AppConfig: a hosted, schema-checked document that validates as the functions
read it, with the deploy-time approvers in, and readable only by the functions told where it is.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator  # type: ignore[import-untyped]

from infra.constructs.policy import (
    EXAMPLE_POLICY,
    JSON_SCHEMA_DRAFT_4,
    POLICY_SOURCE_VARIABLE,
    VALIDATOR_MAX_CHARACTERS,
    initial_policy,
)
from infra.manifest import API, FUNCTIONS
from infra.settings import SettingsError
from shared.policy.source import parse_policy
from tests.infra.stack_synth import DEPLOY_CONTEXT, Synthesized, allows, resources_of

pytestmark = pytest.mark.infra

APPROVERS = DEPLOY_CONTEXT["approverEmails"].split(",")
READ_ACTIONS = ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")


def one(synthesized: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = synthesized.of_type(resource_type).items()
    return logical_id, resource["Properties"]


def hosted_policy(synthesized: Synthesized) -> str:
    _, version = one(synthesized, "AWS::AppConfig::HostedConfigurationVersion")
    assert version["ContentType"] == "application/json"
    content: str = version["Content"]
    return content


def validator_schema(synthesized: Synthesized) -> dict[str, Any]:
    _, profile = one(synthesized, "AWS::AppConfig::ConfigurationProfile")
    [validator] = profile["Validators"]
    assert validator["Type"] == "JSON_SCHEMA"
    assert len(validator["Content"]) <= VALIDATOR_MAX_CHARACTERS
    schema: dict[str, Any] = json.loads(validator["Content"])
    return schema


def test_policy_is_a_hosted_profile_with_a_json_schema_validator(
    synthesized: Synthesized,
) -> None:
    _, profile = one(synthesized, "AWS::AppConfig::ConfigurationProfile")
    schema = validator_schema(synthesized)

    assert profile["LocationUri"] == "hosted"
    assert profile["Type"] == "AWS.Freeform"
    assert schema["$schema"] == JSON_SCHEMA_DRAFT_4
    Draft4Validator.check_schema(schema)


def test_hosted_policy_validates_as_the_functions_read_it(synthesized: Synthesized) -> None:
    content = hosted_policy(synthesized)

    policy = parse_policy(content)

    assert policy.approvals.fallback_approver == APPROVERS[0]
    assert policy.approvals.rules
    assert all(rule.approvers == APPROVERS for rule in policy.approvals.rules)


def test_hosted_policy_passes_its_own_validator(synthesized: Synthesized) -> None:
    errors = list(
        Draft4Validator(validator_schema(synthesized)).iter_errors(
            json.loads(hosted_policy(synthesized))
        )
    )

    assert errors == []


def test_hosted_policy_keeps_the_example_but_its_approvers(synthesized: Synthesized) -> None:
    # Given the example as shipped and the policy as hosted, both without approvers
    example = yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8"))
    hosted = json.loads(hosted_policy(synthesized))

    # Then nothing else differs
    assert without_approvers(hosted) == without_approvers(example)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("approvals", "rules", 0, "approvers"), []),
        (("approvals", "rules", 0, "max_amount"), 0),
        (("approvals", "rules", 0, "action"), "forgive_everything"),
        (("approvals", "fallback_approver"), None),
        (("version",), ""),
        (("surprise",), True),
    ],
    ids=["no-approvers", "zero-band", "unknown-kind", "no-fallback", "no-version", "unknown-key"],
)
def test_validator_refuses_a_malformed_policy(
    synthesized: Synthesized, path: tuple[str | int, ...], value: Any
) -> None:
    # Given the hosted policy with one thing broken
    document = json.loads(hosted_policy(synthesized))
    broken = copy.deepcopy(document)
    *parents, last = path
    target: Any = broken
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value

    # When AppConfig would check it; Then the schema refuses it
    assert list(Draft4Validator(validator_schema(synthesized)).iter_errors(broken))


def test_policy_is_deployed_to_its_environment_all_at_once(synthesized: Synthesized) -> None:
    environment_id, _ = one(synthesized, "AWS::AppConfig::Environment")
    strategy_id, strategy = one(synthesized, "AWS::AppConfig::DeploymentStrategy")
    version_id, _ = one(synthesized, "AWS::AppConfig::HostedConfigurationVersion")
    _, deployment = one(synthesized, "AWS::AppConfig::Deployment")

    assert deployment["EnvironmentId"] == {"Ref": environment_id}
    assert deployment["ConfigurationVersion"] == {"Ref": version_id}
    assert deployment["DeploymentStrategyId"] == {"Ref": strategy_id}
    assert strategy["GrowthFactor"] == 100
    assert strategy["DeploymentDurationInMinutes"] == 0
    assert strategy["FinalBakeTimeInMinutes"] == 0


def test_api_is_told_the_policy_source_by_appconfig_names(synthesized: Synthesized) -> None:
    _, application = one(synthesized, "AWS::AppConfig::Application")
    _, environment = one(synthesized, "AWS::AppConfig::Environment")
    _, profile = one(synthesized, "AWS::AppConfig::ConfigurationProfile")

    source = synthesized.function(API)[1]["Environment"]["Variables"][POLICY_SOURCE_VARIABLE]

    assert source == f"appconfig:{application['Name']}/{environment['Name']}/{profile['Name']}"


def test_only_functions_told_the_policy_source_may_read_the_profile(
    synthesized: Synthesized,
) -> None:
    application_id, _ = one(synthesized, "AWS::AppConfig::Application")
    environment_id, _ = one(synthesized, "AWS::AppConfig::Environment")
    profile_id, _ = one(synthesized, "AWS::AppConfig::ConfigurationProfile")

    for spec in FUNCTIONS:
        told = POLICY_SOURCE_VARIABLE in synthesized.function(spec)[1]["Environment"]["Variables"]
        reads = [
            statement
            for statement in synthesized.function_statements(spec)
            if any(allows(statement, action) for action in READ_ACTIONS)
        ]
        assert bool(reads) == told, spec.name
        for statement in reads:
            assert all(allows(statement, action) for action in READ_ACTIONS)
            [profile_arn] = resources_of(statement)
            # This profile in this environment, and nothing else: no wildcard.
            parts = profile_arn["Fn::Join"][1]
            for logical_id in (application_id, environment_id, profile_id):
                assert {"Ref": logical_id} in parts
            assert not any("*" in part for part in parts if isinstance(part, str))


def test_too_many_approvers_stop_synth_naming_the_setting() -> None:
    approvers = [f"approver{number}@example.com" for number in range(11)]

    with pytest.raises(SettingsError, match="approverEmails"):
        initial_policy(approvers)


def without_approvers(document: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(document)
    del stripped["approvals"]["fallback_approver"]
    for rule in stripped["approvals"].get("rules", []):
        del rule["approvers"]
    return stripped
