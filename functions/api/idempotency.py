"""Replaying POST and PUT requests that carry an Idempotency-Key, so a retry never writes twice.

The first request with a key runs and its response is remembered for 24 hours under the key,
the method and the path; a retry with the same body gets that response back unchanged. A retry
with another body, or one that arrives while the first is still running, is refused (409, see
`functions.api.errors`). A request that fails is not remembered, so it can be fixed and resent
under the same key.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from functions.api.codec import to_json
from shared import services
from shared.services import Services

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
REPLAY_WINDOW_SECONDS = 24 * 60 * 60

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=255,
        description="Any unique string (a UUID is ideal). Resending the same request with the "
        "same key within 24 hours returns the first response and changes nothing; the same key "
        "with a different body is refused with 409.",
    ),
]
"""Declared on every POST and PUT route for the OpenAPI document; the middleware reads it."""

_REPLAYED_METHODS = frozenset({"POST", "PUT"})
_CONFIG = IdempotencyConfig(
    event_key_jmespath="key",
    payload_validation_jmespath="body",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=REPLAY_WINDOW_SECONDS,
)


def replay_by_idempotency_key(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """Resolver middleware: run the route once per key, then answer retries from the record."""
    event = app.current_event
    key = event.headers.get(IDEMPOTENCY_HEADER)
    if event.http_method.upper() not in _REPLAYED_METHODS or not key:
        return next_middleware(app)

    answered: list[Response[Any]] = []

    def respond_first_time() -> dict[str, Any]:
        response = next_middleware(app)
        if not isinstance(response.body, str | bytes):
            # Serialized here, so a replay answers byte for byte what the first request got.
            response.body = to_json(response.body)
        answered.append(response)
        return {"status_code": response.status_code, "body": response.body}

    _CONFIG.register_lambda_context(app.lambda_context)
    request = {
        "key": f"{event.http_method.upper()} {event.path} {key}",
        "body": event.json_body if event.body else None,
    }
    remembered = _remembering_once(services.current())(request=request, run=respond_first_time)
    if answered:
        return answered[0]
    return Response(
        status_code=int(remembered["status_code"]),
        content_type=content_types.APPLICATION_JSON,
        body=remembered["body"],
        headers={REPLAYED_HEADER: "true"},
    )


def _run_once(*, request: dict[str, Any], run: Any) -> dict[str, Any]:
    """The function Powertools makes idempotent: `request` is hashed, `run` answers it."""
    return cast(dict[str, Any], run())


_built: tuple[Services, Any] | None = None
_lock = threading.Lock()


def _remembering_once(installed: Services) -> Any:
    """`_run_once` made idempotent on the installed services' table, built on first use.

    Built lazily rather than at import so the table name comes from the validated settings, and
    rebuilt when other services are installed (the local runtime and tests do that).
    """
    global _built
    with _lock:
        if _built is None or _built[0] is not installed:
            store = DynamoDBPersistenceLayer(
                table_name=installed.settings.idempotency_table,
                key_attr="id",
                boto3_client=installed.dynamodb,
            )
            remembering = idempotent_function(
                _run_once,
                data_keyword_argument="request",
                persistence_store=store,
                config=_CONFIG,
            )
            _built = (installed, remembering)
        return _built[1]
