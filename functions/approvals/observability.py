"""The approvals function's logger and metrics, shared by its handler, routes and error mapping."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
