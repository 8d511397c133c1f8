"""The sweep: every account whose next review is due goes onto the decide queue, once per run.

It reads each shard of the next-review index and sends what it finds in batches of ten, the
most SQS takes in one call. A message names the account and the review time it was due at;
the same due review always gives the same body, so a duplicate is easy to recognise, and
`decide` skips an account that was reviewed since it was queued.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.clock import Clock
from shared.collections.store import CollectionsStore, DueReview
from shared.errors import ConfigurationError, InvalidInput
from shared.ledger.models import RecordId

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from shared.services import Services

BATCH_SIZE = 10
"""SendMessageBatch takes at most ten messages."""
SEND_ATTEMPTS = 3
STOP_WITH_MILLIS_LEFT = 15_000
"""A sweep that might overrun its function's timeout stops; the rest stay due for the next."""
QUEUE_VARIABLE = "DECIDE_QUEUE_URL"

logger = Logger(child=True)


class SweepSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    decide_queue_url: str = Field(pattern=r"^https?://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SweepSettings:
        environ = os.environ if environ is None else environ
        if not environ.get(QUEUE_VARIABLE):
            raise ConfigurationError(f"missing environment settings: {QUEUE_VARIABLE}")
        try:
            return cls(decide_queue_url=environ[QUEUE_VARIABLE])
        except ValueError as error:
            raise ConfigurationError(f"invalid environment settings: {error}") from None


class ReviewRequest(BaseModel):
    """The body of a decide message: the account, and the review time it was due at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: RecordId
    review_at: datetime

    def body(self) -> str:
        return json.dumps(
            {
                "account_id": self.account_id,
                "review_at": self.review_at.astimezone(UTC).isoformat(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_body(cls, body: str) -> ReviewRequest:
        try:
            return cls.model_validate_json(body)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "body"
            raise InvalidInput("body", f"not a review request: {where}: {problem['msg']}") from None


@dataclass(frozen=True)
class SweepResult:
    shards: int
    due: int
    enqueued: int
    failed: int
    complete: bool
    """False when the sweep stopped early to stay within its time; the rest are still due."""


class ReviewSweep:
    def __init__(self, store: CollectionsStore, sqs: SQSClient, queue_url: str, clock: Clock):
        self._store = store
        self._sqs = sqs
        self._queue_url = queue_url
        self._clock = clock

    @classmethod
    def from_services(cls, services: Services, settings: SweepSettings) -> ReviewSweep:
        import boto3

        store = CollectionsStore(
            services.dynamodb, services.settings.ledger_table, services.settings.review_shards
        )
        return cls(store, boto3.client("sqs"), settings.decide_queue_url, services.clock)

    def run(self, millis_left: Callable[[], int] | None = None) -> SweepResult:
        """Queue every account due now, each once; stops early rather than overrun."""
        now = self._clock.now()
        seen: set[str] = set()
        due = enqueued = failed = 0
        complete = True
        for batch in _batches(self._unique(self._all_due(now), seen)):
            if millis_left is not None and millis_left() < STOP_WITH_MILLIS_LEFT:
                complete = False
                break
            due += len(batch)
            sent = self._send(batch)
            enqueued += sent
            failed += len(batch) - sent
        return SweepResult(self._store.review_shards, due, enqueued, failed, complete)

    def _all_due(self, now: datetime) -> Iterator[DueReview]:
        for shard in range(self._store.review_shards):
            yield from self._store.due(shard, now)

    @staticmethod
    def _unique(reviews: Iterable[DueReview], seen: set[str]) -> Iterator[DueReview]:
        for review in reviews:
            if review.account_id not in seen:
                seen.add(review.account_id)
                yield review

    def _send(self, batch: list[DueReview]) -> int:
        """Send one batch, retrying the entries SQS reports failed; returns how many went."""
        waiting = {
            str(n): ReviewRequest(account_id=r.account_id, review_at=r.review_at)
            for n, r in enumerate(batch)
        }
        for _ in range(SEND_ATTEMPTS):
            entries: list[Any] = [
                {"Id": entry_id, "MessageBody": request.body()}
                for entry_id, request in waiting.items()
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            failures = response.get("Failed", [])
            waiting = {f["Id"]: waiting[f["Id"]] for f in failures}
            if not waiting:
                break
            if any(f.get("SenderFault") for f in failures):
                break  # the same entries would be refused again
        for request in waiting.values():
            logger.error("account not queued for review", account_id=request.account_id)
        return len(batch) - len(waiting)


def _batches(reviews: Iterable[DueReview]) -> Iterator[list[DueReview]]:
    batch: list[DueReview] = []
    for review in reviews:
        batch.append(review)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch
