"""The one place where errors become HTTP responses, each typed exception to its status.

400: malformed JSON, or input that contradicts stored records (shared.errors.InvalidInput).
404: no such account, record or route.
409: conflicts with stored state, or an Idempotency-Key reused or still in progress.
422: a body, path or query that does not match the schema.
500: anything else; the exception is logged and the caller gets a generic message.
Every body is an `ErrorBody`, and every field is named as the caller wrote it: invoices[3].amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import ValidationError

from functions.api.observability import logger
from functions.api.schemas import ErrorBody, FieldError
from shared.errors import Conflict, InvalidInput, NotFound

_REQUEST_PARTS = frozenset({"body", "path", "query", "header", "cookie"})
_OWN_VALUE_ERROR = "value_error"
_NAMED_REASON = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]]*): (?P<reason>.+)", re.DOTALL)
"""The library's model validators word a cross-field error as "due_date: must not be before ...";
the name before the colon is the field to report, relative to where pydantic placed the error."""


def register(app: APIGatewayRestResolver) -> None:
    """Install every error mapping on the resolver."""
    handlers: Mapping[type[Exception], Any] = {
        InvalidInput: _invalid_input,
        RequestValidationError: _request_not_valid,
        ValidationError: _model_not_valid,
        NotFound: _not_found,
        NotFoundError: _no_route,
        IdempotencyValidationError: _idempotency_key_reused,
        IdempotencyAlreadyInProgressError: _idempotency_key_in_progress,
        Conflict: _conflict,
        Exception: _unexpected,
    }
    for exception_type, handler in handlers.items():
        app.exception_handler(exception_type)(handler)


def field_path(location: Sequence[str | int]) -> str:
    """A pydantic location as the caller wrote it: ("body", "invoices", 3, "amount") is
    invoices[3].amount."""
    parts = list(location)
    if parts and parts[0] in _REQUEST_PARTS:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic errors as fields and reasons, never echoing the input that was refused."""
    return [_field_error(error) for error in errors]


def _field_error(error: Mapping[str, Any]) -> FieldError:
    path = field_path(error.get("loc", ()))
    reason = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    named = _NAMED_REASON.fullmatch(reason)
    if error.get("type") == _OWN_VALUE_ERROR and named:
        inner = named["field"]
        path = f"{path}{inner}" if inner.startswith("[") or not path else f"{path}.{inner}"
        reason = named["reason"]
    return FieldError(field=path or "body", reason=reason)


def _invalid_input(error: InvalidInput) -> Response[Any]:
    fields = [FieldError(field=error.field, reason=error.reason)]
    return _refuse(HTTPStatus.BAD_REQUEST, "invalid_input", str(error), fields)


def _request_not_valid(error: RequestValidationError) -> Response[Any]:
    errors = error.errors()
    if errors and all(_location(e)[:1] == ("response",) for e in errors):
        # Powertools checks responses against their models too; a mismatch is our bug.
        return _unexpected(error)
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        return _malformed_json(malformed)
    return _schema_refusal(field_errors(errors))


def _malformed_json(error: Mapping[str, Any]) -> Response[Any]:
    reason = str(error.get("ctx", {}).get("error", "is not JSON"))
    position = error["loc"][-1]
    if isinstance(position, int):
        reason += f" at character {position}"
    fields = [FieldError(field="body", reason=reason)]
    return _refuse(HTTPStatus.BAD_REQUEST, "malformed_json", "the body is not JSON", fields)


def _location(error: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(error.get("loc", ()))


def _model_not_valid(error: ValidationError) -> Response[Any]:
    return _schema_refusal(field_errors(error.errors(include_url=False, include_input=False)))


def _schema_refusal(fields: list[FieldError]) -> Response[Any]:
    message = "; ".join(f"{f.field}: {f.reason}" for f in fields) or "the request is not valid"
    return _refuse(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_input", message, fields)


def _not_found(error: NotFound) -> Response[Any]:
    return _refuse(HTTPStatus.NOT_FOUND, "not_found", str(error))


def _no_route(_: NotFoundError) -> Response[Any]:
    return _refuse(HTTPStatus.NOT_FOUND, "not_found", "no such resource or method")


def _conflict(error: Conflict) -> Response[Any]:
    return _refuse(HTTPStatus.CONFLICT, "conflict", str(error))


def _idempotency_key_reused(_: IdempotencyValidationError) -> Response[Any]:
    message = "this Idempotency-Key was already used with a different body; use a new key"
    return _refuse(HTTPStatus.CONFLICT, "idempotency_key_reused", message)


def _idempotency_key_in_progress(_: IdempotencyAlreadyInProgressError) -> Response[Any]:
    message = "a request with this Idempotency-Key is still being processed; retry shortly"
    return _refuse(HTTPStatus.CONFLICT, "idempotency_key_in_progress", message)


def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("request failed", error_type=type(error).__name__)
    message = "an unexpected error occurred; retry later with the same Idempotency-Key"
    return _respond(
        HTTPStatus.INTERNAL_SERVER_ERROR, ErrorBody(error="internal_error", message=message)
    )


def _refuse(
    status: HTTPStatus, code: str, message: str, fields: list[FieldError] | None = None
) -> Response[Any]:
    # Field names only: the refused values may be addresses or bank details.
    logger.info(
        "request refused",
        status=status.value,
        error=code,
        fields=[f.field for f in fields or []],
    )
    return _respond(status, ErrorBody(error=code, message=message, fields=fields or []))


def _respond(status: HTTPStatus, body: ErrorBody) -> Response[Any]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump(mode="json"),
    )
