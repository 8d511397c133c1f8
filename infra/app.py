"""The CDK app: reads the deploy settings, builds autoar's stack and checks it with cdk-nag."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# jsii reads these when its Node.js runtime starts, on the first aws_cdk import below.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.settings import SettingsError, read_settings
from infra.stack import AutoarStack

STACK_NAME = "Autoar"


def main() -> None:
    app = cdk.App()
    try:
        build_app(app, os.environ)
    except SettingsError as error:
        sys.exit(f"autoar cannot be synthesized:\n{error}")
    app.synth()


def build_app(app: cdk.App, environ: Mapping[str, str]) -> AutoarStack:
    """Add autoar's stack and the AwsSolutions checks to `app`; synth then fails on any finding."""
    settings = read_settings(app.node.try_get_context, environ)
    stack = AutoarStack(
        app,
        STACK_NAME,
        settings=settings,
        description="autoar: an autonomous accounts-receivable agent",
        env=cdk.Environment(
            account=environ.get("CDK_DEFAULT_ACCOUNT"), region=environ.get("CDK_DEFAULT_REGION")
        ),
    )
    add_compliance_checks(app)
    return stack


def add_compliance_checks(app: cdk.App) -> None:
    """Run cdk-nag's AwsSolutions pack at synth; a finding without an acknowledgement fails it."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


if __name__ == "__main__":
    main()
