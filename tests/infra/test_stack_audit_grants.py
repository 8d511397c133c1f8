"""No IAM policy in the stack lets anything update or delete an audit event; every statement of
every policy is read, so a later construct that grants more fails here, whatever it is for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.manifest import AUDIT
from tests.infra.stack_synth import Synthesized

pytestmark = pytest.mark.infra

AUDIT_READ_ACTIONS = frozenset(
    {
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:Query",
        "dynamodb:Scan",
    }
)
AUDIT_ALLOWED_ACTIONS = AUDIT_READ_ACTIONS | {"dynamodb:PutItem"}
NEVER_ON_AUDIT = frozenset(
    {
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
        "dynamodb:DeleteTable",
        "dynamodb:*",
        "*",
    }
)
DYNAMODB_WRITE_PREFIXES = (
    "dynamodb:put",
    "dynamodb:update",
    "dynamodb:delete",
    "dynamodb:batchwrite",
    "dynamodb:partiqlinsert",
    "dynamodb:partiqlupdate",
    "dynamodb:partiqldelete",
)


@dataclass(frozen=True)
class Statement:
    policy: str
    actions: frozenset[str]
    not_actions: frozenset[str]
    resources: tuple[Any, ...]


def test_audit_table_can_be_read_and_appended_but_never_changed(
    synthesized: Synthesized,
) -> None:
    # Given every Allow statement that names the audit table
    on_audit = [
        statement
        for statement in allow_statements(synthesized.resources)
        if names_audit_table(statement)
    ]

    # Then something may append to it, and nothing may do more than read and append
    assert any("dynamodb:PutItem" in statement.actions for statement in on_audit)
    for statement in on_audit:
        assert not statement.not_actions, f"{statement.policy}: NotAction on the audit table"
        assert statement.actions <= AUDIT_ALLOWED_ACTIONS, (
            f"{statement.policy} grants {sorted(statement.actions - AUDIT_ALLOWED_ACTIONS)} "
            "on the audit table"
        )
        assert not (statement.actions & NEVER_ON_AUDIT)


def test_no_statement_grants_dynamodb_writes_on_every_resource(
    synthesized: Synthesized,
) -> None:
    for statement in allow_statements(synthesized.resources):
        if any(is_wildcard(resource) for resource in statement.resources):
            writes = [action for action in statement.actions if is_dynamodb_write(action)]
            assert writes == [], f"{statement.policy} grants {writes} on '*'"
            assert not statement.not_actions, f"{statement.policy}: NotAction on '*'"


def test_the_audit_check_catches_an_update_grant() -> None:
    # Given a policy that would let a function rewrite the trail
    resources = {
        "Rogue": policy_resource(
            ["dynamodb:PutItem", "dynamodb:UpdateItem"],
            {"Fn::Join": ["", [{"Fn::GetAtt": [AUDIT.logical_id, "Arn"]}, "/index/*"]]},
        )
    }

    # When the statements are read; Then the check sees the table and the forbidden action
    statements = [s for s in allow_statements(resources) if names_audit_table(s)]
    assert len(statements) == 1
    assert not statements[0].actions <= AUDIT_ALLOWED_ACTIONS


def test_the_wildcard_check_catches_a_write_on_every_table() -> None:
    resources = {"Rogue": policy_resource(["dynamodb:DeleteItem"], "*")}

    [statement] = allow_statements(resources)

    assert any(is_wildcard(resource) for resource in statement.resources)
    assert any(is_dynamodb_write(action) for action in statement.actions)


def allow_statements(resources: dict[str, dict[str, Any]]) -> Iterator[Statement]:
    for logical_id, resource in resources.items():
        for name, document in policy_documents(resource):
            for raw in as_list(document.get("Statement")):
                if raw.get("Effect") == "Allow":
                    yield Statement(
                        policy=f"{logical_id}{name}",
                        actions=frozenset(as_list(raw.get("Action"))),
                        not_actions=frozenset(as_list(raw.get("NotAction"))),
                        resources=tuple(as_list(raw.get("Resource"))),
                    )


def policy_documents(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Identity policies: standalone, managed, and inline on roles, users and groups."""
    properties = resource.get("Properties", {})
    if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
        yield "", properties["PolicyDocument"]
    if resource["Type"] in {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}:
        for inline in properties.get("Policies", []):
            yield f"/{inline['PolicyName']}", inline["PolicyDocument"]


def names_audit_table(statement: Statement) -> bool:
    return any(references(resource, AUDIT.logical_id) for resource in statement.resources)


def references(value: Any, logical_id: str) -> bool:
    if isinstance(value, dict):
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, str):
            get_att = get_att.split(".")
        if (get_att and get_att[0] == logical_id) or value.get("Ref") == logical_id:
            return True
        return any(references(item, logical_id) for item in value.values())
    if isinstance(value, list):
        return any(references(item, logical_id) for item in value)
    return False


def is_wildcard(resource: Any) -> bool:
    """'*', or a DynamoDB ARN pattern that could match the audit table among others."""
    if not isinstance(resource, str):
        return False
    return resource == "*" or (":dynamodb:" in resource and "*" in resource)


def is_dynamodb_write(action: str) -> bool:
    """Counts any wildcard over DynamoDB as a write, since it could expand to one."""
    action = action.lower()
    if action == "*" or (action.startswith("dynamodb:") and "*" in action):
        return True
    return action.startswith(DYNAMODB_WRITE_PREFIXES)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_resource(actions: list[str], resource: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyDocument": {"Statement": [statement]}},
    }
