"""The collections loop: the sweep on its schedule, the decide queue with its dead-letter queue,
and decide taking the queue in batches, a bounded number of batches at a time.

The sweep runs on the deploy setting `sweepSchedule`. The manifest's `SWEEP_SCHEDULE` is what
the local runtime fires; the two agree at the setting's default (hourly), and where a company
sets another schedule, the setting wins in AWS and the local runtime keeps the manifest's.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.approvals import ApprovalGates
from infra.constructs.function import AutoarFunction
from infra.constructs.outbound_mail import OutboundMail
from infra.constructs.storage import Storage, pin_logical_id
from infra.manifest import DECIDE_QUEUE, INBOX, SWEEP
from shared.collections.store import REVIEW_INDEX

# Long enough that a message retried up to its last receive (five times the visibility timeout,
# 45 minutes) does not raise it: a message failing for good is the dead-letter alarm's to tell.
DECIDE_BACKLOG_ALARM = Duration.hours(1)


class CollectionsLoop(Construct):
    """The sweep, its schedule, the decide queue and the decide function.

    The sweep may only query the next-review index and send to the queue. Decide reads and
    writes the ledger, appends to the audit trail, requests approvals, reads invoice PDFs under
    the documents prefix and emails customers through `outbound_mail`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        approvals: ApprovalGates,
        outbound_mail: OutboundMail,
        sweep_schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        check_manifest()

        self.dead_letters = _build_queue(
            self,
            "DeadLetters",
            DECIDE_QUEUE.dead_letter_logical_id,
            retention_period=Duration.days(DECIDE_QUEUE.dead_letter_retention_days),
        )
        self.queue = _build_queue(
            self,
            "Queue",
            DECIDE_QUEUE.logical_id,
            retention_period=Duration.days(DECIDE_QUEUE.retention_days),
            visibility_timeout=Duration.seconds(DECIDE_QUEUE.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=DECIDE_QUEUE.max_receive_count
            ),
        )

        self.sweep = self._build_sweep(storage)
        self.schedule = events.Rule(
            self,
            "SweepSchedule",
            description="autoar: queue the accounts whose next review is due",
            schedule=events.Schedule.expression(sweep_schedule),
            targets=[targets.LambdaFunction(self.sweep.function)],
        )
        self.decide = self._build_decide(storage, approvals, outbound_mail)

    def _build_sweep(self, storage: Storage) -> AutoarFunction:
        sweep = AutoarFunction(
            self,
            "Sweep",
            spec=SWEEP,
            environment={
                **storage.function_environment(),
                DECIDE_QUEUE.env_var: self.queue.queue_url,
            },
        )
        storage.grant_ledger_index_query(sweep.function, REVIEW_INDEX)
        # SendMessage alone (it covers SendMessageBatch): not queue.grant_send_messages, which
        # adds reading the queue's attributes, and nothing that receives or deletes.
        sweep.function.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])
        )
        return sweep

    def _build_decide(
        self, storage: Storage, approvals: ApprovalGates, outbound_mail: OutboundMail
    ) -> AutoarFunction:
        decide = AutoarFunction(
            self, "Decide", spec=DECIDE_QUEUE.consumer, environment=storage.function_environment()
        )
        function = decide.function
        storage.grant_ledger_read_write(function)
        storage.grant_audit_append(function)
        # Invoice PDFs to attach; a missing one must read as missing, not as access denied.
        storage.grant_inbox_read(function, INBOX.documents_prefix, tell_missing=True)
        approvals.allow_requests_from(function)
        outbound_mail.allow_sending_from(function)

        # The concurrency bound keeps model calls within their rate limits and DynamoDB calm
        # however many accounts one sweep queues; a backlog waits in the queue instead.
        function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=DECIDE_QUEUE.batch_size,
                max_concurrency=DECIDE_QUEUE.max_concurrency,
                report_batch_item_failures=True,
            )
        )
        return decide


def check_manifest() -> None:
    """Refuse a decide queue whose retries would raise its own backlog alarm."""
    retried_for = DECIDE_QUEUE.max_receive_count * DECIDE_QUEUE.visibility_timeout_seconds
    if retried_for >= DECIDE_BACKLOG_ALARM.to_seconds():
        raise ValueError("a message still being retried would raise the decide backlog alarm")


def _build_queue(
    scope: Construct,
    construct_id: str,
    logical_id: str,
    *,
    retention_period: Duration,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    # SQS-managed encryption: a message names an account and a review time, and Lambda reads
    # the queue without a key policy of its own.
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention_period,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
    )
    pin_logical_id(queue, logical_id)
    return queue
