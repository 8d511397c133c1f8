"""Approval gates in the synthesized template: the state machine and its two task functions, the
public approval page, the signing key, and who may request, answer or sign approvals.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import TYPE_CHECKING, Any, cast

import pytest

from infra.constructs.api import STAGE_NAME
from infra.constructs.approvals import (
    BASE_URL_VARIABLE,
    REST_API_LOGICAL_ID,
    SENDER_VARIABLE,
    SIGNING_SECRET_LOGICAL_ID,
    SIGNING_SECRET_VARIABLE,
)
from infra.manifest import (
    API,
    APPROVAL_REQUEST,
    APPROVAL_STATE_MACHINE,
    APPROVALS,
    DECIDE,
    EXECUTE,
    FUNCTIONS,
    Function,
)
from shared.approvals import keys, links
from shared.approvals.settings import ApprovalMailSettings, ApprovalSettings
from shared.settings import Settings
from tests.infra.stack_synth import (
    BASE_VARIABLES,
    DEPLOY_CONTEXT,
    Synthesized,
    allows,
    resolve,
    resources_of,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

pytestmark = pytest.mark.infra

STATE_MACHINE_REF = {"Ref": APPROVAL_STATE_MACHINE.logical_id}
SECRET_REF = {"Ref": SIGNING_SECRET_LOGICAL_ID}
SENDER = DEPLOY_CONTEXT["senderAddress"]
# What each approval function is told beyond the resource names every function gets.
APPROVAL_VARIABLES = {
    APPROVALS.name: {SIGNING_SECRET_VARIABLE},
    APPROVAL_REQUEST.name: {SIGNING_SECRET_VARIABLE, BASE_URL_VARIABLE, SENDER_VARIABLE},
    EXECUTE.name: set(),
}
APPROVAL_FUNCTIONS = (APPROVALS, APPROVAL_REQUEST, EXECUTE)
TASK_FUNCTIONS = {APPROVAL_REQUEST.name: APPROVAL_REQUEST, EXECUTE.name: EXECUTE}


def variables(synthesized: Synthesized, spec: Function) -> dict[str, Any]:
    environment: dict[str, Any] = synthesized.function(spec)[1]["Environment"]["Variables"]
    return environment


def deployed_environment(synthesized: Synthesized, spec: Function) -> dict[str, str]:
    return {name: resolve(value) for name, value in variables(synthesized, spec).items()}


def state_machine(synthesized: Synthesized) -> dict[str, Any]:
    resource = synthesized.resources[APPROVAL_STATE_MACHINE.logical_id]
    assert resource["Type"] == "AWS::StepFunctions::StateMachine"
    properties: dict[str, Any] = resource["Properties"]
    return properties


def function_arn(synthesized: Synthesized, spec: Function) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesized.function(spec)[0], "Arn"]}


def functions_allowed(synthesized: Synthesized, action: str, resource: Any) -> set[str]:
    """The functions whose role allows `action` on `resource`."""
    return {
        spec.name
        for spec in FUNCTIONS
        if any(
            allows(statement, action) and resource in resources_of(statement)
            for statement in synthesized.function_statements(spec)
        )
    }


@pytest.mark.parametrize("spec", APPROVAL_FUNCTIONS, ids=lambda spec: spec.name)
def test_approval_function_is_told_exactly_what_it_reads(
    synthesized: Synthesized, spec: Function
) -> None:
    assert set(variables(synthesized, spec)) == BASE_VARIABLES | APPROVAL_VARIABLES[spec.name]


def test_approval_request_is_not_told_the_state_machine_it_runs_in(
    synthesized: Synthesized,
) -> None:
    # The definition names the task's ARN; the task naming the state machine back is a cycle.
    assert APPROVAL_STATE_MACHINE.env_var not in variables(synthesized, APPROVAL_REQUEST)
    assert STATE_MACHINE_REF not in variables(synthesized, APPROVAL_REQUEST).values()


def test_approval_functions_read_their_settings_from_what_the_stack_gives(
    synthesized: Synthesized,
) -> None:
    # Given each function's environment as it would be once deployed
    page = deployed_environment(synthesized, APPROVALS)
    request = deployed_environment(synthesized, APPROVAL_REQUEST)
    execute = deployed_environment(synthesized, EXECUTE)
    api = deployed_environment(synthesized, API)

    # Then the settings models each one reads at cold start accept it
    for environment in (page, request, execute, api):
        Settings.from_env(environment)
    mail = ApprovalMailSettings.from_env(request)
    requesting = ApprovalSettings.from_env(api)
    assert mail.sender_address == requesting.sender_address == SENDER
    assert page[SIGNING_SECRET_VARIABLE] == mail.signing_secret_arn
    assert requesting.state_machine_arn == resolve(STATE_MACHINE_REF)


def test_approval_links_point_at_the_public_api_stage(synthesized: Synthesized) -> None:
    # Given the base URL the request task is told, once deployed
    base_url = variables(synthesized, APPROVAL_REQUEST)[BASE_URL_VARIABLE]
    assert base_url == synthesized.template_json["Outputs"]["ApprovalsUrl"]["Value"]

    # When a link is built on it
    link = links.SignedLink("appr-1", "cfo@example.com", 1_900_000_000)
    url = links.url(resolve(base_url), link, bytes(32))

    # Then it opens the approval page of the public API's stage
    api_id = resolve({"Ref": REST_API_LOGICAL_ID})
    assert url.startswith(
        f"https://{api_id}.execute-api.eu-west-1.amazonaws.com/{STAGE_NAME}/approvals/appr-1?"
    )


def test_state_machine_runs_the_manifest_definition_file(synthesized: Synthesized) -> None:
    # Given the definition as uploaded with the template
    location = state_machine(synthesized)["DefinitionS3Location"]
    uploaded = (synthesized.outdir / f"asset.{location['Key']}").read_text(encoding="utf-8")

    # Then it is the manifest's file, unchanged
    assert uploaded == APPROVAL_STATE_MACHINE.definition_path.read_text(encoding="utf-8")


def test_each_placeholder_is_replaced_by_its_task_functions_arn(
    synthesized: Synthesized,
) -> None:
    substitutions = state_machine(synthesized)["DefinitionSubstitutions"]
    text = APPROVAL_STATE_MACHINE.definition_path.read_text(encoding="utf-8")

    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    assert set(substitutions) == placeholders == set(APPROVAL_STATE_MACHINE.substitutions)
    for placeholder, function_name in APPROVAL_STATE_MACHINE.substitutions.items():
        spec = TASK_FUNCTIONS[function_name]
        assert substitutions[placeholder] == function_arn(synthesized, spec)


def test_every_task_of_the_substituted_definition_invokes_a_task_function(
    synthesized: Synthesized,
) -> None:
    # Given the definition as Step Functions will run it
    substitutions = state_machine(synthesized)["DefinitionSubstitutions"]
    arns = {
        name: resolve(substitutions[placeholder])
        for placeholder, name in APPROVAL_STATE_MACHINE.substitutions.items()
    }
    definition = json.loads(APPROVAL_STATE_MACHINE.definition(arns))

    # Then each task invokes one of the two task functions, and both are used
    invoked = {
        state["Parameters"]["FunctionName"]
        for state in definition["States"].values()
        if state["Type"] == "Task"
    }
    assert invoked == set(arns.values())


def test_state_machine_may_invoke_exactly_its_two_task_functions(
    synthesized: Synthesized,
) -> None:
    statements = synthesized.role_statements(state_machine(synthesized)["RoleArn"])

    invoke = [statement for statement in statements if allows(statement, "lambda:InvokeFunction")]
    invocable = [resource for statement in invoke for resource in resources_of(statement)]
    assert sorted(map(json.dumps, invocable)) == sorted(
        json.dumps(function_arn(synthesized, spec)) for spec in TASK_FUNCTIONS.values()
    )
    lambda_actions = {
        action
        for statement in statements
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
        if action.startswith("lambda:")
    }
    assert lambda_actions == {"lambda:InvokeFunction"}


def test_executions_are_traced_and_logged_without_their_data(synthesized: Synthesized) -> None:
    properties = state_machine(synthesized)

    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # Task payloads carry task tokens: whoever read them could decide in an approver's place.
    assert logging["IncludeExecutionData"] is False
    [destination] = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] > 0


def test_approval_page_methods_need_no_authorization_but_the_signed_link(
    synthesized: Synthesized,
) -> None:
    # Given the methods of the public approvals API
    methods = [
        method["Properties"]
        for method in synthesized.of_type("AWS::ApiGateway::Method").values()
        if method["Properties"]["RestApiId"] == {"Ref": REST_API_LOGICAL_ID}
    ]

    # Then GET and POST on /approvals/{approval_id} reach the approvals function, unauthorized
    assert sorted(method["HttpMethod"] for method in methods) == ["GET", "POST"]
    page_id, _ = synthesized.function(APPROVALS)
    for method in methods:
        assert method["AuthorizationType"] == "NONE"
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert {"Fn::GetAtt": [page_id, "Arn"]} in method["Integration"]["Uri"]["Fn::Join"][1]
        assert resource_path(synthesized, method["ResourceId"]) == "/approvals/{approval_id}"


def test_approval_page_stage_is_throttled_logged_and_traced(synthesized: Synthesized) -> None:
    [(stage_id, stage)] = [
        (logical_id, resource)
        for logical_id, resource in synthesized.of_type("AWS::ApiGateway::Stage").items()
        if resource["Properties"]["RestApiId"] == {"Ref": REST_API_LOGICAL_ID}
    ]
    properties = stage["Properties"]

    assert properties["StageName"] == STAGE_NAME
    assert properties["TracingEnabled"] is True
    [settings] = properties["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert settings["DataTraceEnabled"] is False
    log_format = properties["AccessLogSetting"]["Format"]
    assert "$context.requestId" in log_format
    # A link's query string holds its signature; access logs must not keep it.
    assert "querystring" not in log_format.lower()
    # The account's CloudWatch role (from the integrator API) is set before this stage logs.
    [account_id] = synthesized.of_type("AWS::ApiGateway::Account")
    assert account_id in stage.get("DependsOn", [])
    assert stage_id


def test_rest_apis_have_names_of_their_own(synthesized: Synthesized) -> None:
    # API Gateway metrics, and so the 5xx alarms, tell APIs apart by name alone.
    names = [
        api["Properties"]["Name"]
        for api in synthesized.of_type("AWS::ApiGateway::RestApi").values()
    ]

    assert len(names) == 2
    assert len(set(names)) == 2


def test_only_the_approval_page_answers_the_waiting_execution(synthesized: Synthesized) -> None:
    assert functions_allowed(synthesized, "states:SendTaskSuccess", STATE_MACHINE_REF) == {
        APPROVALS.name
    }


def test_only_the_api_and_decide_start_approval_executions(synthesized: Synthesized) -> None:
    assert functions_allowed(synthesized, "states:StartExecution", STATE_MACHINE_REF) == {
        API.name,
        DECIDE.name,
    }


def test_decide_reads_its_approval_settings_from_what_the_stack_gives(
    synthesized: Synthesized,
) -> None:
    requesting = ApprovalSettings.from_env(deployed_environment(synthesized, DECIDE))

    assert requesting.state_machine_arn == resolve(STATE_MACHINE_REF)
    assert requesting.sender_address == SENDER


def test_only_the_page_and_the_request_task_read_the_signing_key(
    synthesized: Synthesized,
) -> None:
    readers = functions_allowed(synthesized, "secretsmanager:GetSecretValue", SECRET_REF)

    assert readers == {APPROVALS.name, APPROVAL_REQUEST.name}
    every_reader = {
        logical_id
        for logical_id, policy in synthesized.of_type("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if allows(statement, "secretsmanager:GetSecretValue")
    }
    assert len(every_reader) == 2


def test_only_the_request_task_and_decide_send_mail_and_only_as_the_sender(
    synthesized: Synthesized,
) -> None:
    # Given every statement in the stack that allows sending raw email
    senders = {
        spec.name: [
            statement
            for statement in synthesized.function_statements(spec)
            if allows(statement, "ses:SendRawEmail")
        ]
        for spec in FUNCTIONS
    }
    every_sender = [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if allows(statement, "ses:SendRawEmail")
    ]

    # Then only the request task and decide have one, each on the sender's identities (decide
    # with its configuration set), From the sender only
    assert {name for name, statements in senders.items() if statements} == {
        APPROVAL_REQUEST.name,
        DECIDE.name,
    }
    assert len(every_sender) == 2
    domain = SENDER.rpartition("@")[2]
    prefix = "arn:aws:ses:eu-west-1:123456789012:"
    identities = {f"{prefix}identity/{domain}", f"{prefix}identity/{SENDER}"}
    [configuration_set_id] = synthesized.of_type("AWS::SES::ConfigurationSet")
    configuration_set = f"{prefix}configuration-set/{configuration_set_id}-deployed"
    expected = {
        APPROVAL_REQUEST.name: identities,
        DECIDE.name: identities | {configuration_set},
    }
    for name, resources in expected.items():
        [statement] = senders[name]
        assert {resolve(resource) for resource in resources_of(statement)} == resources
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": SENDER}}


def test_signing_key_is_generated_as_base64_of_at_least_32_bytes(
    synthesized: Synthesized,
) -> None:
    # Given how Secrets Manager is told to generate the key
    secret = synthesized.resources[SIGNING_SECRET_LOGICAL_ID]
    generate = secret["Properties"]["GenerateSecretString"]
    assert generate["ExcludePunctuation"] is True
    assert not generate.get("IncludeSpace", False)
    assert "ExcludeCharacters" not in generate
    length = generate["PasswordLength"]

    # When a key it could generate (letters and digits only) is read as the functions read it
    generated = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
    client = cast("SecretsManagerClient", StubSecrets(generated))
    key = keys.signing_key(client, f"arn:aws:secretsmanager:generated-{secrets.token_hex(8)}")

    # Then it decodes without padding into enough bytes
    assert length % 4 == 0
    assert len(key) == length * 3 // 4
    assert len(key) >= keys.MINIMUM_KEY_BYTES


def test_outputs_give_the_approvals_url(synthesized: Synthesized) -> None:
    value = synthesized.template_json["Outputs"]["ApprovalsUrl"]["Value"]

    assert {"Ref": REST_API_LOGICAL_ID} in value["Fn::Join"][1]
    assert resolve(value).endswith(f"/{STAGE_NAME}")


class StubSecrets:
    """Answers get_secret_value with one SecretString, as Secrets Manager returns it."""

    def __init__(self, secret_string: str) -> None:
        self.secret_string = secret_string

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        return {"ARN": SecretId, "SecretString": self.secret_string}


def resource_path(synthesized: Synthesized, resource_id: Any) -> str:
    """The path of an API Gateway resource, from its PathPart and its parents'."""
    parts: list[str] = []
    while "Ref" in resource_id:
        properties = synthesized.resources[resource_id["Ref"]]["Properties"]
        parts.insert(0, properties["PathPart"])
        resource_id = properties["ParentId"]
    return "/" + "/".join(parts)
