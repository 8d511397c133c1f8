"""The approval page's resolver: GET shows a request, POST decides it, and nothing else."""

from __future__ import annotations

import os
import threading
from http import HTTPStatus
from urllib.parse import unquote

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit

from functions.approvals import errors
from functions.approvals.desk import ApprovalDesk, form_fields
from functions.approvals.observability import logger, metrics
from functions.approvals.pages import approval_page, confirmation_page, respond
from shared import services
from shared.approvals.keys import signing_key
from shared.errors import ConfigurationError
from shared.services import Services

PAGE = "/approvals/<approval_id>"
SIGNING_SECRET_VARIABLE = "APPROVAL_SIGNING_SECRET_ARN"

app = APIGatewayRestResolver()
errors.register(app)


@app.get(PAGE)
def show_approval(approval_id: str) -> Response[str]:
    approval_id = _approval_id(approval_id)
    opened = desk().open(approval_id, app.current_event.query_string_parameters or {})
    logger.info("approval page shown", status=opened.request.status.value)
    return respond(HTTPStatus.OK, approval_page(opened))


@app.post(PAGE)
def decide_approval(approval_id: str) -> Response[str]:
    approval_id = _approval_id(approval_id)
    event = app.current_event
    form = form_fields(event.decoded_body, event.headers.get("content-type"))
    decided = desk().decide(approval_id, form)
    logger.info("approval decided", status=decided.status.value, step=decided.step)
    metrics.add_metric(name=f"approvals_{decided.status.value}", unit=MetricUnit.Count, value=1)
    return respond(HTTPStatus.OK, confirmation_page(decided))


@app.route(PAGE, method=["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def other_method(approval_id: str) -> Response[str]:
    return errors.method_not_allowed()


def desk() -> ApprovalDesk:
    """The desk over the installed services, built on first use and again when they change
    (the local runtime and tests install new ones); its gate and key go with them."""
    global _built
    installed = services.current()
    with _lock:
        if _built is None or _built[0] is not installed:
            _built = (installed, _build(installed))
        return _built[1]


def _build(installed: Services) -> ApprovalDesk:
    # The page decides but never requests, so it needs only the signing secret of the
    # approval settings, not the state machine, policy or its own URL.
    secret_arn = os.environ.get(SIGNING_SECRET_VARIABLE)
    if not secret_arn:
        raise ConfigurationError(f"missing environment settings: {SIGNING_SECRET_VARIABLE}")
    key = signing_key(boto3.client("secretsmanager"), secret_arn)
    return ApprovalDesk(installed.approval_tasks(), key, installed.clock)


def _approval_id(path_segment: str) -> str:
    approval_id = unquote(path_segment)
    logger.append_keys(approval_id=approval_id)
    return approval_id


_lock = threading.Lock()
_built: tuple[Services, ApprovalDesk] | None = None
