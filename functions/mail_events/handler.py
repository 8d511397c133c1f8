"""Lambda entry point for SES bounce and complaint notifications (through SNS): mark the
contact, name the next one, or put the account in front of a person."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services
from shared.errors import AutoarError
from shared.mail.bounces import (
    BOUNCED,
    COMPLAINED,
    FeedbackDesk,
    FeedbackOutcome,
    FeedbackStatus,
    MailFeedback,
    notifications,
)

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    desk = FeedbackDesk.from_services(services.current())
    outcomes = [outcome for feedback in notifications(event) for outcome in _record(desk, feedback)]
    recorded = [outcome for outcome in outcomes if outcome.status is FeedbackStatus.RECORDED]
    _count("contacts_bounced", [o for o in recorded if o.action == BOUNCED])
    _count("contacts_complained", [o for o in recorded if o.action == COMPLAINED])
    _count("accounts_without_contact", [o for o in recorded if o.no_contact_left])
    return {"outcomes": [asdict(outcome) for outcome in outcomes]}


def _record(desk: FeedbackDesk, feedback: MailFeedback) -> list[FeedbackOutcome]:
    logger.append_keys(notification_id=feedback.notification_id)
    try:
        outcomes = desk.record(feedback)
    except AutoarError as error:
        # Raised again so Lambda's retries and failure destination keep the notification.
        logger.error("mail feedback not recorded", error=type(error).__name__, reason=str(error))
        raise
    for outcome in outcomes:
        logger.info(
            "mail feedback recorded",
            kind=feedback.kind.value,
            permanent=feedback.permanent,
            account_id=outcome.account_id,
            status=outcome.status.value,
            action=outcome.action,
            contacts=list(outcome.contacts),
            no_contact_left=outcome.no_contact_left,
        )
    return outcomes


def _count(name: str, outcomes: list[FeedbackOutcome]) -> None:
    if outcomes:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=len(outcomes))
