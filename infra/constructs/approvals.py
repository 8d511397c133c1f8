"""Approval gates: the state machine an action waits in for a person, the two functions it runs,
the public approval page behind emailed signed links, and the key those links are signed with.

Who may start an approval is granted with `allow_requests_from`: the api and decide functions.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, Aws, CfnOutput, CfnResource, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from infra.constructs.api import STAGE_NAME
from infra.constructs.function import AutoarFunction
from infra.constructs.outbound_mail import send_as
from infra.constructs.policy import PolicyConfig
from infra.constructs.storage import Storage
from infra.manifest import APPROVAL_REQUEST, APPROVAL_STATE_MACHINE, APPROVALS, EXECUTE
from shared.approvals.settings import VARIABLES as APPROVAL_VARIABLES

SIGNING_SECRET_VARIABLE = APPROVAL_VARIABLES["signing_secret_arn"]
BASE_URL_VARIABLE = APPROVAL_VARIABLES["base_url"]
SENDER_VARIABLE = APPROVAL_VARIABLES["sender_address"]

# 64 letters and digits are all base64 characters, and a multiple of four of them decodes
# without padding: shared.approvals.keys reads the secret as base64 and gets 48 bytes, with
# about 381 bits of entropy (64 draws from 62 characters). Secrets Manager generates only
# printable passwords, so this is how it produces a key the code reads as random bytes.
SIGNING_KEY_CHARACTERS = 64

# Pinned: a new logical id would replace the resource, and with it break every link already
# emailed (a new API id means a new URL, a new secret a new key) or end executions in flight.
SIGNING_SECRET_LOGICAL_ID = "ApprovalSigningSecret"
REST_API_LOGICAL_ID = "ApprovalsRestApi"

# Approvers are a handful of people clicking links; these ceilings leave them room and keep a
# script hammering the page from running up the bill.
THROTTLE_RATE_PER_SECOND = 10
THROTTLE_BURST = 20


class ApprovalGates(Construct):
    """The approval state machine, its request and execute tasks, and the public approval page.

    The definition comes from the manifest's file with each `${Name}` replaced by the ARN of
    the function the manifest names for it. Executions log every event without their data:
    task payloads hold task tokens, which would let whoever reads the logs decide.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        policy: PolicyConfig,
        sender_address: str,
        api_account_logging: IConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self._policy = policy
        self._sender_address = sender_address

        self.signing_secret = _build_signing_secret(self)
        self.page = AutoarFunction(
            self,
            "Page",
            spec=APPROVALS,
            environment={
                **storage.function_environment(),
                SIGNING_SECRET_VARIABLE: self.signing_secret.secret_arn,
            },
        )
        self.rest_api = self._build_rest_api()
        # Stage logging needs the account's API Gateway CloudWatch role, which the integrator
        # API brings; there is one per account and Region, so this API reuses it.
        self.rest_api.deployment_stage.node.add_dependency(api_account_logging)
        self.base_url = (
            f"https://{self.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
            f"/{STAGE_NAME}"
        )

        self.request_task = AutoarFunction(
            self,
            "RequestTask",
            spec=APPROVAL_REQUEST,
            environment={**storage.function_environment(), **self._mail_environment()},
        )
        self.execute_task = AutoarFunction(
            self, "ExecuteTask", spec=EXECUTE, environment=storage.function_environment()
        )
        self.state_machine = self._build_state_machine()
        self._grant()
        self._add_output()
        self._acknowledge_findings()

    def allow_requests_from(self, function: lambda_.Function) -> None:
        """Let `function` request approvals: the settings `ApprovalSettings` reads, the policy
        the approvers come from, and starting executions. It never reads the signing key."""
        environment = {
            APPROVAL_STATE_MACHINE.env_var: self.state_machine.state_machine_arn,
            **self._mail_environment(),
        }
        for name, value in environment.items():
            function.add_environment(name, value)
        self._policy.allow_reads_from(function)
        self.state_machine.grant_start_execution(function)

    def _mail_environment(self) -> dict[str, str]:
        # Not the state machine's ARN: its definition names the request task, and the task
        # naming it back would be a cycle CloudFormation cannot create.
        return {
            SIGNING_SECRET_VARIABLE: self.signing_secret.secret_arn,
            BASE_URL_VARIABLE: self.base_url,
            SENDER_VARIABLE: self._sender_address,
        }

    def _build_rest_api(self) -> apigateway.RestApi:
        access_logs = logs.LogGroup(self, "PageAccessLogs", retention=logs.RetentionDays.ONE_YEAR)
        rest_api = apigateway.RestApi(
            self,
            "RestApi",
            # Metrics find an API by name: one of its own keeps the 5xx alarms apart.
            rest_api_name=f"{Stack.of(self).stack_name}-approvals",
            description=APPROVALS.description,
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                # ERROR and never data tracing: a link's query string carries its signature.
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
            ),
        )
        if APPROVALS.route is None:
            raise ValueError("the approvals manifest entry names no route to serve")
        page = rest_api.root.resource_for_path(APPROVALS.route).add_resource("{approval_id}")
        integration = apigateway.LambdaIntegration(self.page.function, allow_test_invoke=False)
        # The signed link is the authentication: GET shows (never decides), POST decides.
        for method in ("GET", "POST"):
            page.add_method(
                method, integration, authorization_type=apigateway.AuthorizationType.NONE
            )

        resource = rest_api.node.default_child
        if not isinstance(resource, CfnResource):
            raise TypeError("RestApi has no CloudFormation resource to name")
        resource.override_logical_id(REST_API_LOGICAL_ID)
        rest_api.node.try_remove_child("Endpoint")
        return rest_api

    def _build_state_machine(self) -> sfn.StateMachine:
        tasks = {
            APPROVAL_REQUEST.name: self.request_task.function,
            EXECUTE.name: self.execute_task.function,
        }
        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            # Step Functions writes through CloudWatch vended logs; under this prefix it needs
            # no log-group resource policy, whose size per account is limited.
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-approvals",
            retention=logs.RetentionDays.ONE_YEAR,
        )
        # No execution timeout of its own: each approver's deadline ends their step, and an
        # execution still running after Step Functions' one-year ceiling times out there.
        state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_file(
                str(APPROVAL_STATE_MACHINE.definition_path)
            ),
            definition_substitutions={
                placeholder: tasks[function].function_arn
                for placeholder, function in APPROVAL_STATE_MACHINE.substitutions.items()
            },
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        # A definition read from a file is opaque to CDK, so it grants no invoke by itself;
        # exactly the two task functions, unqualified, as the definition names them.
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in tasks.values()],
            )
        )
        resource = state_machine.node.default_child
        if not isinstance(resource, CfnResource):
            raise TypeError("StateMachine has no CloudFormation resource to name")
        resource.override_logical_id(APPROVAL_STATE_MACHINE.logical_id)
        return state_machine

    def _grant(self) -> None:
        storage = self._storage
        for task in (self.page, self.request_task, self.execute_task):
            storage.grant_ledger_read_write(task.function)
            storage.grant_audit_append(task.function)

        # The page checks link signatures and the request task signs them; nothing else may.
        self.signing_secret.grant_read(self.page.function)
        self.signing_secret.grant_read(self.request_task.function)
        self.request_task.function.add_to_role_policy(send_as(self, self._sender_address))
        # The page answers the waiting execution (SendTaskSuccess) once an approver decides.
        self.state_machine.grant_task_response(self.page.function)

    def _add_output(self) -> None:
        url = CfnOutput(
            self,
            "ApprovalsUrl",
            value=self.base_url,
            description="Base of the approval links emailed to approvers (public, signed links)",
        )
        url.override_logical_id("ApprovalsUrl")

    def _acknowledge_findings(self) -> None:
        Validations.of(self.rest_api).acknowledge(*_REST_API_ACKNOWLEDGEMENTS)
        Validations.of(self.signing_secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The key signs approval links already emailed and waiting for a decision "
                    "(up to 30 days per approver); rotating it would make every one of them "
                    "fail as forged. Replace it deliberately, when no approval is pending."
                ),
            )
        )
        role = self.state_machine.role
        if isinstance(role, Construct):
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason=(
                        "Execution logging and X-Ray tracing: CloudWatch Logs' log-delivery "
                        "actions and X-Ray's segment and sampling actions accept Resource '*' "
                        "only. Invoking Lambda is granted on the two task functions by ARN."
                    ),
                )
            )


def _build_signing_secret(scope: Construct) -> secretsmanager.Secret:
    secret = secretsmanager.Secret(
        scope,
        "SigningSecret",
        description="Key that signs autoar approval links: base64 of random bytes",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=SIGNING_KEY_CHARACTERS,
            exclude_punctuation=True,
            include_space=False,
        ),
    )
    resource = secret.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError("Secret has no CloudFormation resource to name")
    resource.override_logical_id(SIGNING_SECRET_LOGICAL_ID)
    return secret


_REST_API_ACKNOWLEDGEMENTS = (
    Acknowledgment(
        id="AwsSolutions-APIG2",
        reason=(
            "One path with GET and POST, both answered by the approvals function, which checks "
            "the link's signature first and then the form fields one by one (400 naming the "
            "field); a gateway model would check less than that, later."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-APIG3",
        reason=(
            "The page is reached from emailed links by people outside the company's network: "
            "a request without a valid signature is refused before anything is read, and the "
            "stage is throttled low. Add a web ACL in front where the company's policy asks "
            "for WAF."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-APIG4",
        reason=(
            "The signed link is the authentication: approvers are people outside any user "
            "pool, each link names one approval, its approver and expiry under an HMAC, and "
            "deciding also needs the form token bound to that link."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-COG4",
        reason=(
            "Approvers authenticate with the signed link emailed to them, not a Cognito user "
            "pool: they are finance staff who decide from their inbox, with no account here."
        ),
    ),
)


def _access_log_format() -> apigateway.AccessLogFormat:
    field = apigateway.AccessLogField
    # No query string: it carries the link's signature, which must not sit in logs.
    return apigateway.AccessLogFormat.custom(
        json.dumps(
            {
                "requestId": field.context_request_id(),
                "requestTime": field.context_request_time(),
                "sourceIp": field.context_identity_source_ip(),
                "userAgent": field.context_identity_user_agent(),
                "httpMethod": field.context_http_method(),
                "resourcePath": field.context_resource_path(),
                "path": field.context_path(),
                "status": field.context_status(),
                "responseLength": field.context_response_length(),
                "integrationLatency": field.context_integration_latency(),
                "xrayTraceId": field.context_xray_trace_id(),
            }
        )
    )
