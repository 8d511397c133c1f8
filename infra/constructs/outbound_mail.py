"""Customer mail going out: the SES configuration set outreach sends through, and the mail_events
function that takes the bounces and complaints SES publishes for it to an encrypted topic.

A function that emails customers is given what it needs with `allow_sending_from`: the settings
`OutreachSettings` reads, the configuration set's name, and SendRawEmail as the sender only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.function import AutoarFunction
from infra.constructs.intake import FAILED_EVENT_RETENTION, FailedEvents
from infra.constructs.storage import Storage
from infra.manifest import Function
from shared.outreach.settings import VARIABLES as OUTREACH_VARIABLES

CONFIGURATION_SET_VARIABLE = OUTREACH_VARIABLES["configuration_set"]
SENDER_VARIABLE = OUTREACH_VARIABLES["sender_address"]
SENDER_NAME_VARIABLE = OUTREACH_VARIABLES["sender_name"]
MAIL_DOMAIN_VARIABLE = OUTREACH_VARIABLES["mail_domain"]

# What mail_events acts on. Deliveries and sends would invoke it for every email only to be
# skipped; rejections are SES refusing a message for a virus, which the sender sees at once.
FEEDBACK_EVENTS = (ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT)

# The manifest has no entry for this function yet; this is the one it should hold, so that the
# local runtime and the manifest-wide tests see it too (then import it from there instead).
MAIL_EVENTS = Function(
    "mail_events",
    "Mail feedback: SES bounces and complaints mark the contact, pick another, or escalate",
    "ses",
)


class OutboundMail(Construct):
    """The configuration set, its bounce and complaint topic (KMS-encrypted, TLS only), and the
    mail_events function subscribed to it.

    SNS invokes the function asynchronously, so two queues keep what is lost otherwise: the
    subscription's dead-letter queue the notifications SNS could not hand over, and the
    function's failure destination those it failed on after Lambda's retries.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        sender_address: str,
        sender_name: str,
        mail_domain: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._sender_address = sender_address
        self._environment = {
            SENDER_VARIABLE: sender_address,
            SENDER_NAME_VARIABLE: sender_name,
            MAIL_DOMAIN_VARIABLE: mail_domain,
        }

        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            # An address on the account's suppression list is not mailed again; SES reports the
            # attempt as a bounce, which marks the contact like any other.
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.topic = _build_topic(self)
        # CDK adds the topic policy letting SES publish, for this configuration set only.
        self.configuration_set.add_event_destination(
            "Feedback",
            destination=ses.EventDestination.sns_topic(self.topic),
            events=list(FEEDBACK_EVENTS),
        )

        self.handler = AutoarFunction(
            self, "Handler", spec=MAIL_EVENTS, environment=storage.function_environment()
        )
        function = self.handler.function
        storage.grant_ledger_read_write(function)
        storage.grant_audit_append(function)

        self.undelivered = _build_undelivered_queue(self)
        self.topic.add_subscription(
            subscriptions.LambdaSubscription(function, dead_letter_queue=self.undelivered)
        )
        self.failed_events = FailedEvents(self, "FailedEvents", function=function)

    @property
    def configuration_set_arn(self) -> str:
        arn: str = Stack.of(self).format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )
        return arn

    def allow_sending_from(self, function: lambda_.Function) -> None:
        """Let `function` email customers: who sends, the domain replies come back to, the
        configuration set to send with, and SendRawEmail with the sender as From only."""
        for name, value in self._environment.items():
            function.add_environment(name, value)
        function.add_environment(
            CONFIGURATION_SET_VARIABLE, self.configuration_set.configuration_set_name
        )
        function.add_to_role_policy(self._send_as_sender())

    def _send_as_sender(self) -> iam.PolicyStatement:
        # SES authorizes the configuration set as a resource of the request too.
        return send_as(self, self._sender_address, also=[self.configuration_set_arn])


def send_as(scope: Construct, sender_address: str, also: Sequence[str] = ()) -> iam.PolicyStatement:
    """SendRawEmail with `sender_address` as From only, through whichever of its identities SES
    verified (the address or its domain), and on the `also` resources."""
    stack = Stack.of(scope)
    domain = sender_address.rpartition("@")[2]
    identities = [
        stack.format_arn(service="ses", resource="identity", resource_name=name)
        for name in (domain, sender_address)
    ]
    return iam.PolicyStatement(
        actions=["ses:SendRawEmail"],
        resources=[*identities, *also],
        conditions={"StringEquals": {"ses:FromAddress": sender_address}},
    )


def _build_topic(scope: Construct) -> sns.Topic:
    key = kms.Key(
        scope,
        "TopicKey",
        description="Encrypts the bounce and complaint notifications SES sends autoar",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
    # SES encrypts what it publishes to the topic with this key, so it must be able to use it;
    # an AWS managed key's policy cannot grant that to SES.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("ses.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
    )
    return sns.Topic(
        scope,
        "Topic",
        display_name="autoar mail feedback",
        master_key=key,
        enforce_ssl=True,
    )


def _build_undelivered_queue(scope: Construct) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        "Undelivered",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=FAILED_EVENT_RETENTION,
    )
    Validations.of(queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason=(
                "This queue is itself the dead-letter queue of the topic's subscription: it "
                "keeps the notifications SNS could not hand to mail_events, and nothing "
                "consumes it automatically, so a queue behind it would never receive anything."
            ),
        )
    )
    return queue
