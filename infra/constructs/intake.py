"""How bank files and customer mail reach autoar: the remittance function on objects created
under the inbox's remittance prefix, and the inbound_mail function behind an SES receipt rule.
Both are invoked asynchronously, so each keeps the events it failed on in a queue of its own.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, Fn, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3_notifications
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.function import AutoarFunction
from infra.constructs.storage import Storage
from infra.manifest import INBOUND_MAIL, INBOX, REMITTANCE

# Lambda's own default, stated because the failure queue's meaning depends on it: an event lands
# there after three failed attempts, which a transient DynamoDB or S3 error does not survive.
ASYNC_RETRY_ATTEMPTS = 2
# SQS's longest: a failed event waits two weeks for someone to look at it and redrive it.
FAILED_EVENT_RETENTION = Duration.days(14)
# The id CDK gives the one Lambda function per stack that writes bucket notification settings.
NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


class FailedEvents(Construct):
    """An encrypted, TLS-only queue that keeps the async events a function failed on."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)

        # SQS-managed encryption: the messages are event envelopes (object keys, mail headers),
        # and Lambda can send to the queue without a key policy of its own.
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=FAILED_EVENT_RETENTION,
        )
        # A failure destination rather than a dead-letter config: its record carries the error
        # and the request alongside the event, which is what someone redriving it needs.
        function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.queue),
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
        )
        Validations.of(self.queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself where a function's failed events end up (its "
                    "on-failure destination, which the rule only recognises in the older "
                    "dead-letter config); nothing consumes it automatically, so a queue behind it "
                    "would never receive anything."
                ),
            )
        )


class RemittanceInbox(Construct):
    """The remittance function, invoked for every object created under the remittance prefix."""

    def __init__(self, scope: Construct, construct_id: str, *, storage: Storage) -> None:
        super().__init__(scope, construct_id)

        prefix = REMITTANCE.s3_prefix
        if prefix is None:
            raise ValueError("the remittance manifest entry names no s3_prefix to be invoked for")

        self.handler = AutoarFunction(
            self, "Handler", spec=REMITTANCE, environment=storage.function_environment()
        )
        function = self.handler.function
        storage.grant_ledger_read_write(function)
        storage.grant_audit_append(function)
        # Versions too: the notification names the version created, and the function reads that
        # one, so a file replaced a moment later is still taken in as it was dropped.
        storage.grant_inbox_read(function, prefix, include_versions=True)
        self.failed_events = FailedEvents(self, "FailedEvents", function=function)

        storage.inbox_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3_notifications.LambdaDestination(function),
            s3.NotificationKeyFilter(prefix=prefix),
        )
        _acknowledge_notifications_handler(Stack.of(self))


class InboundMail(Construct):
    """An SES receipt rule set for the mail domain: raw message to the inbox, then inbound_mail.

    The rule stores the message under the mail prefix first, so the function (invoked with
    headers and verdicts only) finds it there named by its SES message id. The inbox bucket is
    encrypted with S3-managed keys, so SES needs no KMS permission to write it; a customer
    managed key would need a key-policy grant to ses.amazonaws.com.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, storage: Storage, mail_domain: str
    ) -> None:
        super().__init__(scope, construct_id)

        self.handler = AutoarFunction(
            self, "Handler", spec=INBOUND_MAIL, environment=storage.function_environment()
        )
        function = self.handler.function
        storage.grant_ledger_read_write(function)
        storage.grant_audit_append(function)
        storage.grant_inbox_read(function, INBOX.mail_prefix)
        self.failed_events = FailedEvents(self, "FailedEvents", function=function)

        # The S3 action adds the bucket policy letting ses.amazonaws.com put objects under the
        # prefix on condition aws:SourceAccount is this account; the Lambda action adds SES's
        # invoke permission with the same condition.
        self.rule_set = ses.ReceiptRuleSet(
            self,
            "ReceiptRuleSet",
            rules=[
                ses.ReceiptRuleOptions(
                    recipients=[mail_domain],
                    # Scanning gives the spam and virus verdicts the function flags mail by.
                    scan_enabled=True,
                    actions=[
                        ses_actions.S3(
                            bucket=storage.inbox_bucket, object_key_prefix=INBOX.mail_prefix
                        ),
                        ses_actions.Lambda(
                            function=function,
                            invocation_type=ses_actions.LambdaInvocationType.EVENT,
                        ),
                    ],
                )
            ],
        )
        self._add_outputs(mail_domain)

    def _add_outputs(self, mail_domain: str) -> None:
        # CloudFormation can create a receipt rule set but not make it the active one.
        activate = CfnOutput(
            self,
            "ActivateReceiptRuleSet",
            value=Fn.join(
                "",
                [
                    "aws ses set-active-receipt-rule-set --rule-set-name ",
                    self.rule_set.receipt_rule_set_name,
                    " --region ",
                    Aws.REGION,
                ],
            ),
            description=(
                "Run once after the first deploy: CloudFormation cannot activate a receipt rule "
                "set. A Region has one active rule set per account, so this replaces any other."
            ),
        )
        activate.override_logical_id("ActivateReceiptRuleSet")
        mx_record = CfnOutput(
            self,
            "MailDomainMxRecord",
            value=f"{mail_domain} MX 10 inbound-smtp.{Aws.REGION}.amazonaws.com",
            description=(
                f"Point the MX record of {mail_domain} here (and verify the domain in SES) so "
                "customer replies reach autoar."
            ),
        )
        mx_record.override_logical_id("MailDomainMxRecord")


def _acknowledge_notifications_handler(stack: Stack) -> None:
    """The findings on the function CDK adds to write the bucket's notification settings."""
    handler = stack.node.try_find_child(NOTIFICATIONS_HANDLER_ID)
    if handler is None:
        raise LookupError(f"CDK's bucket notifications handler is not {NOTIFICATIONS_HANDLER_ID}")
    Validations.of(handler).acknowledge(*_NOTIFICATIONS_HANDLER_ACKNOWLEDGEMENTS)


_NOTIFICATIONS_HANDLER_ACKNOWLEDGEMENTS = (
    Acknowledgment(
        id=(
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]"
        ),
        reason=(
            "CDK's bucket notifications handler, which runs only while CloudFormation deploys, "
            "attaches this managed policy to its role itself; it allows writing that function's "
            "logs and nothing else."
        ),
    ),
)
