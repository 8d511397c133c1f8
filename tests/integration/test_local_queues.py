"""The local runtime's queues: built as the manifest says, and fed to their consumer as Lambda's
event source mapping does, retries included."""

import json
from datetime import timedelta

import boto3

from infra.local.provision import create_queues, queue_arn
from infra.local.queues import EventSourceMapping
from infra.manifest import DECIDE_QUEUE

DAY = 86_400


def test_the_decide_queue_is_created_as_the_manifest_deploys_it(aws):
    sqs = boto3.client("sqs")

    urls = create_queues(sqs, [DECIDE_QUEUE])

    attributes = sqs.get_queue_attributes(
        QueueUrl=urls[DECIDE_QUEUE.env_var], AttributeNames=["All"]
    )["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == DECIDE_QUEUE.visibility_timeout_seconds
    assert int(attributes["MessageRetentionPeriod"]) == DECIDE_QUEUE.retention_days * DAY
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == DECIDE_QUEUE.max_receive_count
    dead_letters = sqs.get_queue_url(QueueName=redrive["deadLetterTargetArn"].split(":")[-1])
    assert queue_arn(sqs, dead_letters["QueueUrl"]) == redrive["deadLetterTargetArn"]


def test_a_failed_message_comes_back_only_after_the_visibility_timeout_on_the_clock(aws, clock):
    # Given a consumer that fails its first delivery, as a decision whose email is in flight
    sqs = boto3.client("sqs")
    url = create_queues(sqs, [DECIDE_QUEUE])[DECIDE_QUEUE.env_var]
    sqs.send_message(QueueUrl=url, MessageBody='{"account_id": "ACME"}')
    deliveries = []

    def consumer(event):
        deliveries.append(clock.now())
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
        return {"batchItemFailures": failures if len(deliveries) == 1 else []}

    mapping = EventSourceMapping(sqs, DECIDE_QUEUE, url, consumer, clock)

    # When the queue is drained, drained again at once, then after the visibility timeout
    first = mapping.drain()
    at_once = mapping.drain()
    clock.advance(timedelta(seconds=DECIDE_QUEUE.visibility_timeout_seconds))
    later = mapping.drain()

    # Then it was retried once, when AWS would retry it, and then deleted
    assert (first, at_once, later) == (1, 0, 1)
    assert deliveries[1] - deliveries[0] == timedelta(
        seconds=DECIDE_QUEUE.visibility_timeout_seconds
    )
    clock.advance(timedelta(days=1))
    assert mapping.drain() == 0
