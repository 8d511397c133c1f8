"""The integrator API: a REST API only IAM-signed callers reach, in front of the api function.
Integrators get its URL and a managed policy to attach to their own role or user.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, CfnOutput, CfnResource, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from infra.constructs.function import AutoarFunction
from infra.constructs.storage import Storage
from infra.manifest import API

STAGE_NAME = "v1"
# Pinned, because a new logical id would mean a new API id, and a new URL for every integrator.
REST_API_LOGICAL_ID = "IntegratorRestApi"
# Per-stage ceilings well above what one company's systems post, low enough that a runaway
# integrator loop cannot run up the DynamoDB bill before the alarms fire.
THROTTLE_RATE_PER_SECOND = 100
THROTTLE_BURST = 200


class IntegratorApi(Construct):
    """The api function behind a REST API whose every method requires AWS_IAM authorization."""

    def __init__(self, scope: Construct, construct_id: str, *, storage: Storage) -> None:
        super().__init__(scope, construct_id)

        self.handler = AutoarFunction(
            self, "Handler", spec=API, environment=storage.function_environment()
        )
        storage.grant_ledger_read_write(self.handler.function)
        storage.grant_audit_append(self.handler.function)
        storage.grant_idempotency_read_write(self.handler.function)

        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR)
        self.rest_api = self._build_rest_api()
        self.integrator_policy = iam.ManagedPolicy(
            self,
            "IntegratorPolicy",
            description="Lets an integrator's role or user call the autoar integrator API.",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    resources=[self.rest_api.arn_for_execute_api(stage=STAGE_NAME)],
                )
            ],
        )
        self._add_outputs()
        self._acknowledge_findings()

    @property
    def account_logging(self) -> IConstruct:
        """The account's API Gateway CloudWatch role setting this API brings; any other REST
        API in the stack that logs must be deployed after it."""
        return self.rest_api.node.find_child("Account")

    def _build_rest_api(self) -> apigateway.LambdaRestApi:
        rest_api = apigateway.LambdaRestApi(
            self,
            "RestApi",
            handler=self.handler.function,
            proxy=True,
            # Named after the stack: API Gateway's metrics (and so the 5xx alarm) find an API by
            # name, which must not be shared with the approvals API or another stack's.
            rest_api_name=f"{Stack.of(self).stack_name}-integrator",
            description=API.description,
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM
            ),
            # Stage logging needs the account's API Gateway CloudWatch role; a fresh account has
            # none, so the stack brings one rather than fail on first deploy.
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                # ERROR, not INFO, and never data tracing: request bodies carry bank details.
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=_access_log_format(),
            ),
        )
        resource = rest_api.node.default_child
        if not isinstance(resource, CfnResource):
            raise TypeError("LambdaRestApi has no CloudFormation resource to name")
        resource.override_logical_id(REST_API_LOGICAL_ID)
        return rest_api

    def _add_outputs(self) -> None:
        # The RestApi's own output is replaced by one with a stable, readable name.
        self.rest_api.node.try_remove_child("Endpoint")
        url = CfnOutput(self, "ApiUrl", value=self.rest_api.url, description="Integrator API URL")
        url.override_logical_id("ApiUrl")
        policy = CfnOutput(
            self,
            "IntegratorPolicyArn",
            value=self.integrator_policy.managed_policy_arn,
            description="Attach to an integrator's IAM role or user to let it call the API",
        )
        policy.override_logical_id("IntegratorPolicyArn")

    def _acknowledge_findings(self) -> None:
        Validations.of(self.rest_api).acknowledge(*_REST_API_ACKNOWLEDGEMENTS)
        Validations.of(self.integrator_policy).acknowledge(
            Acknowledgment(
                id=(
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                    f"<AWS::AccountId>:<{REST_API_LOGICAL_ID}>/{STAGE_NAME}/*/*]"
                ),
                reason=(
                    "Invoke on every method and path of this API's stage, and nothing else: the "
                    "integrator API is one surface, and every route on it is meant for integrators."
                ),
            )
        )


_REST_API_ACKNOWLEDGEMENTS = (
    Acknowledgment(
        id="AwsSolutions-APIG2",
        reason=(
            "The greedy proxy sends every route to the api function, which validates each body, "
            "path and query against its pydantic models (Powertools enable_validation) and answers "
            "422 naming the field; the gateway has no per-route model to check."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-APIG3",
        reason=(
            "Every method requires a SigV4 signature from an IAM principal of this account, so "
            "unsigned traffic is refused before it reaches the function, and the stage is "
            "throttled; a web ACL would mostly filter what IAM already refuses. Add one in front "
            "of the stage where the company's own policy asks for WAF."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-COG4",
        reason=(
            "Callers are systems, not people: methods use AWS_IAM authorization, granted through "
            "the integrator managed policy, instead of a Cognito user pool."
        ),
    ),
    Acknowledgment(
        id=(
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]"
        ),
        reason=(
            "API Gateway's account-level logging role uses the AWS-managed policy made for it, "
            "which only lets the service write its own log groups."
        ),
    ),
)


def _access_log_format() -> apigateway.AccessLogFormat:
    field = apigateway.AccessLogField
    # The caller's IAM identity is what matters for an IAM-authorized API: who called what, when.
    return apigateway.AccessLogFormat.custom(
        json.dumps(
            {
                "requestId": field.context_request_id(),
                "requestTime": field.context_request_time(),
                "callerArn": field.context_identity_user_arn(),
                "sourceIp": field.context_identity_source_ip(),
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
