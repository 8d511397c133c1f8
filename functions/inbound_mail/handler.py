"""Lambda entry point for mail the SES receipt rule received: record it, tied to its account,
and act on what the reply asks for."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services
from shared.errors import AutoarError
from shared.mail.inbound import MailIntake
from shared.mail.models import MailArrival, MailReceipt, ReceiptStatus
from shared.mail.ses import arrivals

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    intake = MailIntake.from_services(services.current())
    receipts = [_receive(intake, arrival) for arrival in arrivals(event)]
    recorded = [receipt for receipt in receipts if receipt.status is ReceiptStatus.RECORDED]
    metrics.add_metric(name="replies_received", unit=MetricUnit.Count, value=len(recorded))
    for intent in sorted({receipt.intent for receipt in recorded if receipt.intent}):
        count = sum(1 for receipt in recorded if receipt.intent is intent)
        metrics.add_metric(name=f"replies_{intent.value}", unit=MetricUnit.Count, value=count)
    return {"messages": [receipt.model_dump(mode="json") for receipt in receipts]}


def _receive(intake: MailIntake, arrival: MailArrival) -> MailReceipt:
    logger.append_keys(ses_message_id=arrival.ses_message_id)
    try:
        receipt = intake.receive(arrival)
    except AutoarError as error:
        # Raised again so Lambda's retries and failure destination keep the event.
        logger.error("mail not taken in", error=type(error).__name__, reason=str(error))
        raise
    logger.info(
        "mail received",
        status=receipt.status,
        account_id=receipt.account_id,
        matched_by=receipt.matched_by,
        automated=receipt.automated,
        attachments=receipt.attachments,
        intent=receipt.intent,
        acted=receipt.acted,
    )
    return receipt
