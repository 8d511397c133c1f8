"""Lambda entry point for objects created under the inbox's remittance prefix: bank files."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import services
from shared.cash.intake import BankFileIntake
from shared.cash.models import BankFileReceipt, IntakeStatus
from shared.errors import AutoarError
from shared.objects import CreatedObject, created_objects

METRICS_NAMESPACE = "autoar"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    intake = BankFileIntake.from_services(services.current())
    receipts = [_receive(intake, created) for created in created_objects(event)]
    recorded = sum(1 for receipt in receipts if receipt.status is IntakeStatus.RECORDED)
    metrics.add_metric(name="bank_files_received", unit=MetricUnit.Count, value=recorded)
    return {"files": [receipt.model_dump(mode="json") for receipt in receipts]}


def _receive(intake: BankFileIntake, created: CreatedObject) -> BankFileReceipt:
    # Object keys are not logged: bank file names often carry an account number.
    try:
        receipt = intake.receive(created)
    except AutoarError as error:
        # Raised again so Lambda's retries and failure destination keep the event.
        logger.error("bank file not taken in", error=type(error).__name__)
        raise
    logger.info(
        "bank file received",
        status=receipt.status,
        sha256=receipt.sha256,
        format=receipt.format,
        file_status=receipt.file_status,
        size=receipt.size,
        entries=receipt.entries,
    )
    return receipt
