"""Lambda entry point of the integrator API: observability around the resolver, nothing else."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api.app import app
from functions.api.observability import logger, metrics
from shared import services


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Builds the services on the first invocation, so a missing setting fails it, named.
    services.current()
    return app.resolve(event, context)
