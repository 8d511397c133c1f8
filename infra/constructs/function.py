"""One of autoar's Lambda functions, built from its manifest entry with its own role and log group;
all share one code asset (`functions/` and `shared/`) and the Powertools layer.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.manifest import PROJECT_ROOT, Function

RUNTIME = lambda_.Runtime.PYTHON_3_12
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27
SERVICE_NAME = "autoar"

ASSET_PACKAGES = ("functions", "shared")
ASSET_EXCLUDES: tuple[str, ...] = (
    # An allow-list: drop every top-level entry, bring back the two packages, then drop what
    # Python and editors leave inside them. Later patterns win.
    "*",
    ".*",
    *(f"!{package}" for package in ASSET_PACKAGES),
    *(f"!{package}/**" for package in ASSET_PACKAGES),
    "**/__pycache__",
    "**/*.pyc",
    "**/.*",
)


class AutoarFunction(Construct):
    """A Python 3.12 arm64 function with X-Ray tracing, its own retained log group and role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: Function,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)

        # A role of our own instead of the default one keeps AWSLambdaBasicExecutionRole (and its
        # account-wide log permissions) out: this role may write to its own log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"autoar {spec.name} function",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=project_code(),
            layers=[powertools_layer(self)],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": SERVICE_NAME,
                **environment,
            },
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
        )
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, "
                    "which X-Ray only grants on Resource '*'; every other statement of this role "
                    "names its table, bucket or log group."
                ),
            )
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "Pinned to Python 3.12 because the Powertools layer the functions rely on "
                    "(and the pydantic build inside it) is published per Python minor version; "
                    "move runtime and layer name together."
                ),
            )
        )


def project_code() -> lambda_.Code:
    """The one code asset: `functions/` and `shared/` from the project root, nothing else."""
    return lambda_.Code.from_asset(str(PROJECT_ROOT), exclude=list(ASSET_EXCLUDES))


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """AWS's public Powertools for Python layer (v3, arm64) in the stack's region."""
    region = Stack.of(scope).region
    arn = (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-python312-arm64:{POWERTOOLS_LAYER_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)
