"""Lambda entry point of the public approval page: observability around the resolver, no more."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.approvals.app import app, desk
from functions.approvals.observability import logger, metrics


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Builds the desk on the first invocation, so a missing setting fails it, named.
    desk()
    return app.resolve(event, context)
