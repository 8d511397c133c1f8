"""Lambda entry point of the approval state machine's closing tasks.

Approved: carry the action out with the same code as an autonomous one, its preconditions
checked again; one that no longer holds is recorded, not raised. Rejected, expired or failed:
recorded on the approval and in the audit trail. A redelivered task changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services
from shared.approvals.tasks import close_task

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = close_task(event)
    logger.append_keys(approval_id=task.approval_id)
    closing = services.current().approval_closer().close(task.approval_id, task.outcome, task.error)
    metrics.add_metric(name=f"approvals_closed_{closing.outcome}", unit=MetricUnit.Count, value=1)
    logger.info(
        "approval closed", reported=task.outcome, outcome=closing.outcome, reason=closing.reason
    )
    return {"outcome": closing.outcome, "reason": closing.reason}
