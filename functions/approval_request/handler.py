"""Lambda entry point of the approval state machine's RequestApproval and Escalate tasks.

RequestApproval: keep the token the execution waits on, then email the approver asked now, once
per step however often the task is delivered. Escalate: the approver let the deadline pass;
answer with the next step, or that the chain ran out. The token is never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services
from shared.approvals.errors import AlreadyDecided, StaleTask
from shared.approvals.tasks import AskTask, EscalateTask, approval_task

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = approval_task(event)
    logger.append_keys(approval_id=task.approval_id, step=task.step)
    if isinstance(task, EscalateTask):
        return _escalate(task)
    return _ask(task)


def _ask(task: AskTask) -> dict[str, Any]:
    current = services.current()
    try:
        approval = current.approval_tasks().await_decision(
            task.approval_id, task.task_token.get_secret_value(), task.step
        )
    except (AlreadyDecided, StaleTask) as stale:
        # A late redelivery: the execution no longer waits on this step.
        logger.info("stale approval task ignored", reason=str(stale))
        return {"asked": False}
    message_id = current.approval_mailer().ask(approval)
    if message_id is not None:
        metrics.add_metric(name="approvals_asked", unit=MetricUnit.Count, value=1)
    logger.info(
        "approver asked",
        emailed=message_id is not None,
        approver_domain=approval.current_approver.rpartition("@")[2],
        deadline=approval.expires_at,
    )
    return {"asked": True}


def _escalate(task: EscalateTask) -> dict[str, Any]:
    escalation = services.current().approval_tasks().escalate(task.approval_id, task.step)
    if escalation.expired:
        logger.info("approval chain ran out")
    else:
        metrics.add_metric(name="approvals_escalated", unit=MetricUnit.Count, value=1)
        logger.info("approval escalated", next_step=escalation.next_step)
    return escalation.task_result()
