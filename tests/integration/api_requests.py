"""Calling the api function as API Gateway does: proxy events built on the sample events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from events import load
from functions.api.handler import lambda_handler

ERP_ROLE = "arn:aws:iam::210987654321:role/erp-sync"
"""The caller every sample event carries (requestContext.identity.userArn)."""


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "autoar-api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:autoar-api"
    aws_request_id: str = field(default_factory=lambda: str(uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, list[str]]
    text: str

    def header(self, name: str) -> str | None:
        values = {key.lower(): value for key, value in self.headers.items()}.get(name.lower())
        return values[0] if values else None


def call(event: dict[str, Any]) -> ApiResponse:
    """Invoke the handler with one event and parse what API Gateway would send back."""
    result = lambda_handler(event, FakeLambdaContext())
    text = result["body"]
    is_json = "json" in str(result["multiValueHeaders"].get("Content-Type", [""])[0])
    return ApiResponse(
        status=result["statusCode"],
        body=json.loads(text) if is_json and text else text,
        headers=dict(result["multiValueHeaders"]),
        text=text,
    )


def send(name: str, **changes: Any) -> ApiResponse:
    """Send a stored sample event, optionally changed first (see `request`)."""
    return call(with_changes(load(name), **changes))


def request(
    method: str,
    path: str,
    body: Any = None,
    **changes: Any,
) -> dict[str, Any]:
    """A proxy event for any route, shaped like the stored samples (same caller, stage, headers)."""
    event = load("api/get_account")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["path"] = path
    event["requestContext"]["path"] = "/v1" + path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return with_changes(event, body=body, **changes)


def with_changes(
    event: dict[str, Any],
    *,
    body: Any = ...,
    query: dict[str, str] | None = None,
    headers: dict[str, str | None] | None = None,
    identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event with a new body (a str is sent verbatim), query, headers (None removes one) or
    identity."""
    if body is not ...:
        event["body"] = body if body is None or isinstance(body, str) else json.dumps(body)
        if body is not None:
            _set_header(event, "Content-Type", "application/json")
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    for name, value in (headers or {}).items():
        _set_header(event, name, value)
    if identity is not None:
        event["requestContext"]["identity"] = identity
    event["requestContext"]["requestId"] = str(uuid4())
    return event


def body_of(name: str) -> Any:
    """The JSON body of a stored sample event."""
    return json.loads(load(name)["body"])


def _set_header(event: dict[str, Any], name: str, value: str | None) -> None:
    for existing in [key for key in event["headers"] if key.lower() == name.lower()]:
        del event["headers"][existing]
        event["multiValueHeaders"].pop(existing, None)
    if value is not None:
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
