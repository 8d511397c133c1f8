"""The api function and the integrator REST API in the synthesized template."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.api import STAGE_NAME
from infra.manifest import API, INBOX, TABLES
from tests.infra.stack_synth import Synthesized, flatten

pytestmark = pytest.mark.infra

POWERTOOLS_LAYER = "017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:"
INTEGRATOR_API = {"Ref": "IntegratorRestApi"}


def api_function(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.function(API)[1]


def test_api_function_runs_python_on_arm_with_powertools(synthesized: Synthesized) -> None:
    properties = api_function(synthesized)

    assert properties["Architectures"] == ["arm64"]
    major, minor = properties["Runtime"].removeprefix("python").split(".")
    assert (int(major), int(minor)) >= (3, 12)
    assert any(POWERTOOLS_LAYER in flatten(layer) for layer in properties["Layers"])
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Timeout"] == API.timeout_seconds
    assert properties["MemorySize"] == API.memory_mb


def test_api_function_is_told_every_resource_name(synthesized: Synthesized) -> None:
    variables = api_function(synthesized)["Environment"]["Variables"]

    for table in TABLES:
        assert variables[table.env_var] == {"Ref": table.logical_id}
    assert variables[INBOX.env_var] == {"Ref": INBOX.logical_id}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "autoar"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "autoar"
    assert int(variables["REVIEW_SHARDS"]) >= 1


def test_api_function_logs_to_a_log_group_with_retention(synthesized: Synthesized) -> None:
    log_group = api_function(synthesized)["LoggingConfig"]["LogGroup"]["Ref"]

    assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] > 0


def test_code_asset_holds_only_the_function_packages(synthesized: Synthesized) -> None:
    # Given the asset the api function is deployed from
    asset_hash = api_function(synthesized)["Code"]["S3Key"].removesuffix(".zip")
    asset = synthesized.outdir / f"asset.{asset_hash}"

    # Then only functions/ and shared/ are in it, without bytecode or dotfiles
    assert {entry.name for entry in asset.iterdir()} <= {"functions", "shared"}
    leftovers = [
        path.relative_to(asset)
        for path in asset.rglob("*")
        if path.name == "__pycache__" or path.suffix == ".pyc" or path.name.startswith(".")
    ]
    assert leftovers == []


def test_every_api_method_requires_iam_authorization(synthesized: Synthesized) -> None:
    # The approval page's API is public by design (signed links); this one never is.
    methods = {
        logical_id: method
        for logical_id, method in synthesized.of_type("AWS::ApiGateway::Method").items()
        if method["Properties"]["RestApiId"] == INTEGRATOR_API
    }

    assert methods, "the API has methods"
    authorization = {
        logical_id: method["Properties"].get("AuthorizationType", "NONE")
        for logical_id, method in methods.items()
    }
    assert set(authorization.values()) == {"AWS_IAM"}, authorization


def test_api_stage_logs_access_traces_and_records_metrics(synthesized: Synthesized) -> None:
    stages = [
        stage
        for stage in synthesized.of_type("AWS::ApiGateway::Stage").values()
        if stage["Properties"]["RestApiId"] == INTEGRATOR_API
    ]

    assert len(stages) == 1
    stage = stages[0]["Properties"]
    assert stage["TracingEnabled"] is True
    assert "$context.requestId" in stage["AccessLogSetting"]["Format"]
    assert "$context.identity.userArn" in stage["AccessLogSetting"]["Format"]
    log_group = flatten(stage["AccessLogSetting"]["DestinationArn"])
    assert any(logical_id in log_group for logical_id in synthesized.of_type("AWS::Logs::LogGroup"))
    settings = stage["MethodSettings"]
    assert {"HttpMethod": "*", "ResourcePath": "/*"}.items() <= settings[0].items()
    assert settings[0]["MetricsEnabled"] is True
    assert settings[0]["LoggingLevel"] in {"ERROR", "INFO"}
    assert settings[0]["DataTraceEnabled"] is False


def test_integrator_policy_allows_invoking_this_api_only(synthesized: Synthesized) -> None:
    # Given the one managed policy, meant for integrators to attach
    [policy] = synthesized.of_type("AWS::IAM::ManagedPolicy").values()

    # Then it allows invoking this API's stage, and nothing else
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    assert INTEGRATOR_API in statement["Resource"]["Fn::Join"][1]
    assert flatten(statement["Resource"]).endswith(f"/{STAGE_NAME}/*/*")


def test_outputs_give_the_api_url_and_the_integrator_policy(synthesized: Synthesized) -> None:
    outputs = synthesized.template_json["Outputs"]

    assert {"ApiUrl", "IntegratorPolicyArn"} <= set(outputs)
    assert INTEGRATOR_API in outputs["ApiUrl"]["Value"]["Fn::Join"][1]
    policy = outputs["IntegratorPolicyArn"]["Value"]["Ref"]
    assert synthesized.resources[policy]["Type"] == "AWS::IAM::ManagedPolicy"
