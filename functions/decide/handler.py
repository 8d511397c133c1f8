"""Lambda entry point of the decide queue: one collections decision per message, partial failures
reported so that only the messages that failed come back.

A message fails when its account changed while it was decided on, when SES refused its email, or
when it is not a review request at all; the first two succeed on a later delivery, the last ends
in the dead-letter queue. Email addresses and bodies are never logged.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services
from shared.collections.loop import DecisionOutcome, DecisionStep
from shared.collections.sweep import ReviewRequest
from shared.errors import AutoarError

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
# A batch whose every message failed is reported like any other, not raised: each failure is
# one SQS retries (an email SES refused, an account that moved), and the dead-letter and queue
# age alarms watch for what retries do not fix.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    step = services.current().decision_step()
    taken: list[DecisionOutcome] = []

    def decide(record: SQSRecord) -> dict[str, Any]:
        outcome = _decide(step, record)
        taken.append(outcome)
        return {"account_id": outcome.account_id, "kind": outcome.kind, "outcome": outcome.outcome}

    response = process_partial_response(
        event=event, record_handler=decide, processor=processor, context=context
    )
    _count(taken)
    return response


def _decide(step: DecisionStep, record: SQSRecord) -> DecisionOutcome:
    request = ReviewRequest.from_body(record.body)
    try:
        outcome = step.run(request.account_id)
    except AutoarError as error:
        # Reported as this message's failure: SQS delivers it again, or parks it in the DLQ.
        logger.warning(
            "decision not taken",
            account_id=request.account_id,
            message_id=record.message_id,
            receive_count=record.attributes.approximate_receive_count,
            error=type(error).__name__,
            reason=str(error),
        )
        raise
    logger.info(
        "decision taken",
        account_id=outcome.account_id,
        kind=outcome.kind,
        outcome=outcome.outcome,
        decision_id=outcome.decision_id,
        emailed=outcome.emailed,
        next_review_at=outcome.next_review_at,
    )
    return outcome


def _count(taken: list[DecisionOutcome]) -> None:
    """Decisions per kind, each kind its own metric set; emails sent on the invocation's."""
    kinds = Counter(outcome.kind for outcome in taken if outcome.decided)
    for kind, count in sorted(kinds.items()):
        per_kind = EphemeralMetrics(namespace=METRICS_NAMESPACE)
        per_kind.add_dimension(name="kind", value=kind)
        per_kind.add_metric(name="decisions_made", unit=MetricUnit.Count, value=count)
        per_kind.flush_metrics()
    emailed = sum(1 for outcome in taken if outcome.emailed)
    if emailed:
        metrics.add_metric(name="emails_sent", unit=MetricUnit.Count, value=emailed)
