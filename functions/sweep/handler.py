"""Lambda entry point of the sweep schedule: put every account due for review on the decide queue.

The schedule's own time is not used: a late or repeated invocation queues what is due when it
runs, and nothing twice in one run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sweep = services.current().review_sweep()
    result = sweep.run(millis_left=context.get_remaining_time_in_millis)
    metrics.add_metric(name="accounts_enqueued", unit=MetricUnit.Count, value=result.enqueued)
    if result.failed:
        metrics.add_metric(name="accounts_not_enqueued", unit=MetricUnit.Count, value=result.failed)
    logger.info(
        "sweep finished",
        scheduled_for=event.get("time"),
        shards=result.shards,
        due=result.due,
        enqueued=result.enqueued,
        failed=result.failed,
        complete=result.complete,
    )
    return {
        "due": result.due,
        "enqueued": result.enqueued,
        "failed": result.failed,
        "complete": result.complete,
    }
