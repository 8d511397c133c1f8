"""cdk-nag's AwsSolutions pack and cfn-lint find nothing wrong with the synthesized stack."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint_all
from cfnlint.match import Match as LintMatch

from infra.app import add_compliance_checks
from tests.infra.stack_synth import Synthesized

pytestmark = pytest.mark.infra

# CDK makes a function depend on its role explicitly as well as through GetAtt, on purpose: the
# role's policy must exist before the function first runs.
TOLERATED_LINT_WARNINGS = frozenset({"W3005"})
X_RAY_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# A state machine's role also samples traces itself and sets up its log delivery; neither
# service's actions can name a resource. Its IAM5 acknowledgement says so.
STATE_MACHINE_WILDCARD_ACTIONS = X_RAY_ACTIONS | {
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}
# SES receives mail in fewer Regions than CloudFormation runs in, and autoar can only be deployed
# where it does; the absence of SES's types from the other Regions is expected, nothing else.
# (Configuration sets are missing from some Regions too, all of them without mail receiving.)
MAIL_TYPES = (
    "AWS::SES::ReceiptRuleSet",
    "AWS::SES::ReceiptRule",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
)
MAIL_RECEIVING_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    # Given the app as synthesized; When the AwsSolutions pack walks it again
    report = AwsSolutionsChecks().validate_scope(synthesized.app)

    # Then there is no finding of any severity left without an acknowledgement
    findings = [
        f"{violation.rule_name} ({violation.severity}) at "
        + ", ".join(str(resource.construct_path) for resource in violation.violating_resources)
        for violation in report.violations
    ]
    assert findings == []
    assert report.success


def test_only_x_ray_is_granted_on_every_resource(synthesized: Synthesized) -> None:
    # The IAM5 acknowledgement on function roles covers Resource '*'; it must stay X-Ray's alone.
    state_machine_roles = {
        state_machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        for state_machine in synthesized.of_type("AWS::StepFunctions::StateMachine").values()
    }
    for logical_id, policy in synthesized.of_type("AWS::IAM::Policy").items():
        roles = {role["Ref"] for role in policy["Properties"].get("Roles", [])}
        allowed = (
            STATE_MACHINE_WILDCARD_ACTIONS
            if roles and roles <= state_machine_roles
            else X_RAY_ACTIONS
        )
        assert wildcard_actions(policy) <= allowed, logical_id


def wildcard_actions(policy: dict[str, Any]) -> set[str]:
    return {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == "*"
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }


def test_cdk_nag_does_report_what_it_is_not_told_to_ignore() -> None:
    # Given a bucket with none of the settings the pack expects
    app = App()
    stack = Stack(app, "Careless")
    s3.Bucket(stack, "Bucket")

    # When the same pack checks it; Then it reports access logs and TLS, so it can fail
    rules = {
        violation.rule_name for violation in AwsSolutionsChecks().validate_scope(app).violations
    }
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_synth_fails_on_an_unacknowledged_finding() -> None:
    # Given an app with the checks autoar's app adds, and a careless bucket
    app = App()
    s3.Bucket(Stack(app, "Careless"), "Bucket")
    add_compliance_checks(app)

    # When it is synthesized; Then synthesis stops
    with pytest.raises(RuntimeError, match="AwsSolutions-S1"):
        app.synth()


def test_cdk_reports_no_warnings_or_errors(synthesized: Synthesized) -> None:
    annotations = Annotations.from_stack(synthesized.stack)

    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


def test_cfn_lint_finds_no_errors(synthesized: Synthesized) -> None:
    # Given the template file as `cdk deploy` would upload it
    template = (synthesized.outdir / f"{synthesized.stack.stack_name}.template.json").read_text()

    # When cfn-lint reads it
    matches = lint_all(template)

    # Then nothing is an error, and every warning is one we have a reason to accept
    region_gaps = [m.message for m in matches if is_mail_region_gap(m)]
    assert not [gap for gap in region_gaps if any(f"'{r}'" in gap for r in MAIL_RECEIVING_REGIONS)]
    errors = [
        f"{m.rule.id} {m.message} at {m.path_string}"
        for m in matches
        if m.rule.id[0] == "E" and not is_mail_region_gap(m)
    ]
    warnings = [
        f"{m.rule.id} {m.message} at {m.path_string}"
        for m in matches
        if m.rule.id[0] == "W" and m.rule.id not in TOLERATED_LINT_WARNINGS
    ]
    assert errors == [], "\n".join(errors + warnings)
    assert warnings == [], "\n".join(warnings)


def is_mail_region_gap(match: LintMatch) -> bool:
    """cfn-lint's finding that a Region lacks one of SES's types (autoar cannot go there)."""
    return match.rule.id == "E3006" and any(
        f"'{resource_type}' does not exist in" in match.message for resource_type in MAIL_TYPES
    )
