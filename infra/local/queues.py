"""Lambda's SQS event source mapping, emulated: receive a batch, invoke the consumer with the
event AWS would deliver, and delete every message it did not report in `batchItemFailures`.

A message the consumer failed on comes back once the queue's visibility timeout has passed on
the runtime's clock, as in AWS: a simulated clock that jumps ahead brings it back at once, and
a retry never comes sooner than AWS would make it. After the queue's `maxReceiveCount`
receives it moves to the dead-letter queue. A consumer that raises fails the whole batch, as
Lambda treats an invocation error.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from infra.local.provision import queue_arn
from infra.manifest import Queue
from shared.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Invoke = Callable[[dict[str, Any]], Any]

MAX_BATCHES_PER_DRAIN = 100_000

logger = logging.getLogger("autoar.local.queues")


class EventSourceMapping:
    def __init__(
        self, sqs: SQSClient, queue: Queue, url: str, invoke: Invoke, clock: Clock
    ) -> None:
        self.queue = queue
        self.url = url
        self._sqs = sqs
        self._invoke = invoke
        self._clock = clock
        self._failed: list[tuple[datetime, str]] = []
        """Receipt handles of failed messages, with when they become visible again."""
        self._arn = queue_arn(sqs, url)
        self._region = sqs.meta.region_name
        self.batches = 0
        self.failed_messages = 0

    def poll(self) -> int:
        """Hand one batch to the consumer; returns how many messages it held (0: none waiting)."""
        messages = self._sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=self.queue.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        failed = self._deliver(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[start : start + 10])
                ],
            )
        visible_again = self._clock.now() + timedelta(seconds=self.queue.visibility_timeout_seconds)
        self._failed += [
            (visible_again, m["ReceiptHandle"]) for m in messages if m["MessageId"] in failed
        ]
        self.batches += 1
        self.failed_messages += len(failed)
        return len(messages)

    def drain(self) -> int:
        """Poll until the queue has nothing visible; returns how many messages were handed on."""
        self._release_failed()
        handed = 0
        for _ in range(MAX_BATCHES_PER_DRAIN):
            received = self.poll()
            if not received:
                return handed
            handed += received
        raise RuntimeError(f"{self.queue.logical_id} did not drain")

    def _release_failed(self) -> None:
        """Make visible the failed messages whose visibility timeout has passed on the clock
        (moto counts it on the wall clock, which a simulation outruns)."""
        now = self._clock.now()
        due = [handle for at, handle in self._failed if at <= now]
        self._failed = [(at, handle) for at, handle in self._failed if at > now]
        for handle in due:
            # A handle moto already let go of (its own timeout passed) is visible already.
            with contextlib.suppress(ClientError):
                self._sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=0
                )

    def _deliver(self, messages: list[MessageTypeDef]) -> set[str]:
        """Invoke the consumer; the ids of the messages it failed on."""
        try:
            response = self._invoke(self.event(messages))
        except Exception as error:  # an invocation error fails the whole batch, as in Lambda
            logger.error("%s consumer failed the batch: %r", self.queue.consumer.name, error)
            return {m["MessageId"] for m in messages}
        failures = (response or {}).get("batchItemFailures", [])
        return {str(f["itemIdentifier"]) for f in failures}

    def event(self, messages: list[MessageTypeDef]) -> dict[str, Any]:
        """The SQS event Lambda delivers for a batch of received messages."""
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self._arn,
                    "awsRegion": self._region,
                }
                for m in messages
            ]
        }
