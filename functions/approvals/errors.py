"""The one place where errors become pages, each typed exception to its status.

400: a form that can never be accepted as sent (names the field and why).
403: a forged, tampered or incomplete link, or a decision without its page's form token.
404: no such approval, or no such page.
405: a method the approval page does not answer.
409: the request was already decided or closed, or waits for another approver.
410: a genuine link whose time is up.
500: anything else; the exception is logged and the approver is told nothing changed.
No page repeats the link's signature, and a refusal never changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from functions.approvals.desk import (
    ApprovalClosed,
    FormNotValid,
    LinkExpired,
    LinkNotValid,
    NotYourTurn,
)
from functions.approvals.observability import logger
from functions.approvals.pages import decision_facts, refusal_page, respond, timestamp
from shared.approvals.models import ApprovalStatus
from shared.errors import Conflict, InvalidInput, NotFound

ASK_FOR_A_NEW_LINK = "If you still need to decide, ask the finance team for a new link."


def register(app: APIGatewayRestResolver) -> None:
    """Install every error mapping on the resolver."""
    handlers: Mapping[type[Exception], Any] = {
        InvalidInput: _invalid_form,
        LinkNotValid: _link_not_valid,
        FormNotValid: _form_not_valid,
        LinkExpired: _link_expired,
        NotFound: _no_such_approval,
        NotFoundError: _no_such_page,
        ApprovalClosed: _closed,
        NotYourTurn: _not_your_turn,
        Conflict: _conflict,
        Exception: _unexpected,
    }
    for exception_type, handler in handlers.items():
        app.exception_handler(exception_type)(handler)


def method_not_allowed() -> Response[str]:
    message = "The approval page answers GET, to show a request, and POST, to decide it."
    return _refuse(
        HTTPStatus.METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Not available",
        message,
        headers={"Allow": "GET, POST"},
    )


def _invalid_form(error: InvalidInput) -> Response[str]:
    message = f"The form could not be read: {error.field} {error.reason}. Nothing was recorded."
    return _refuse(HTTPStatus.BAD_REQUEST, "invalid_form", "Decision not recorded", message)


def _link_not_valid(_: LinkNotValid) -> Response[str]:
    message = (
        "This approval link is not valid: it may have been changed or cut short when copied. "
        "Open the link exactly as it arrived in your email. " + ASK_FOR_A_NEW_LINK
    )
    return _refuse(HTTPStatus.FORBIDDEN, "link_not_valid", "Link not valid", message)


def _form_not_valid(_: FormNotValid) -> Response[str]:
    message = (
        "This decision did not come from the approval page for your link, so nothing was "
        "recorded. Open the link from your email again and decide there."
    )
    return _refuse(HTTPStatus.FORBIDDEN, "form_not_valid", "Decision not recorded", message)


def _link_expired(_: LinkExpired) -> Response[str]:
    message = "This approval link has expired and can no longer be used. " + ASK_FOR_A_NEW_LINK
    return _refuse(HTTPStatus.GONE, "link_expired", "Link expired", message)


def _no_such_approval(_: NotFound) -> Response[str]:
    message = "There is no approval request for this link. " + ASK_FOR_A_NEW_LINK
    return _refuse(HTTPStatus.NOT_FOUND, "approval_not_found", "Approval not found", message)


def _no_such_page(_: NotFoundError) -> Response[str]:
    message = "There is nothing here. Approval links look like /approvals/<id>?approver=…"
    return _refuse(HTTPStatus.NOT_FOUND, "no_route", "Page not found", message)


def _closed(error: ApprovalClosed) -> Response[str]:
    request = error.request
    if request.status is ApprovalStatus.EXPIRED:
        title = "No longer open"
        message = "Nobody decided this request before its last deadline, so it was closed."
    elif request.status is ApprovalStatus.FAILED:
        title = "No longer open"
        message = "This request was closed because it could not be completed; nothing was done."
    else:
        title = f"Already {request.status.value}"
        by = request.decided_by or "an approver"
        on = timestamp(request.decided_at) if request.decided_at else "an earlier visit"
        message = f"This request was already {request.status.value} by {by} on {on}."
    facts = decision_facts(request)
    return _refuse(HTTPStatus.CONFLICT, "already_decided", title, message, facts)


def _not_your_turn(error: NotYourTurn) -> Response[str]:
    request = error.request
    if request.current_approver != error.approver.strip().lower():
        message = (
            f"This request is not waiting for you: it is with {request.current_approver}, "
            "who decides it now."
        )
    elif request.expires_at is None:
        message = "This request has not been put to you yet; you will get an email when it is."
    else:
        message = (
            f"Your time to decide ran out on {timestamp(request.expires_at)}; "
            "the request is moving on to the next approver."
        )
    facts = decision_facts(request)
    return _refuse(HTTPStatus.CONFLICT, "not_awaiting_you", "No longer yours", message, facts)


def _conflict(_: Conflict) -> Response[str]:
    message = (
        "The request changed while your decision was being recorded, so it was not. "
        "Open the link from your email again to see where it stands."
    )
    return _refuse(HTTPStatus.CONFLICT, "conflict", "Decision not recorded", message)


def _unexpected(error: Exception) -> Response[str]:
    logger.exception("request failed", error_type=type(error).__name__)
    message = "Something went wrong on our side and nothing was recorded. Try again shortly."
    return respond(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        refusal_page(HTTPStatus.INTERNAL_SERVER_ERROR, "Something went wrong", message),
    )


def _refuse(
    status: HTTPStatus,
    code: str,
    title: str,
    message: str,
    facts: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    # The reason code only: the link, the form and the approver's address stay out of logs.
    logger.info("approval request refused", status=status.value, error=code)
    return respond(status, refusal_page(status, title, message, facts or ()), headers)
