"""Alarms on what would stop autoar working, sent to one encrypted SNS topic; each capability
registers what it owns (`watch_function`, `watch_dead_letter_queue`, `watch_queue_age`,
`watch_rest_api`, `watch_table`, `watch_state_machine`).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)

# The operations autoar's functions call; an alarm's metric math can hold ten metrics at most.
TABLE_OPERATIONS = (
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.QUERY,
    dynamodb.Operation.BATCH_GET_ITEM,
    dynamodb.Operation.TRANSACT_WRITE_ITEMS,
    dynamodb.Operation.TRANSACT_GET_ITEMS,
)


class Alarms(Construct):
    """The alarm topic (KMS-encrypted, TLS only, optional email subscriber) and its alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)

        self.topic = _build_topic(self)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self._action = cloudwatch_actions.SnsAction(self.topic)

        output = CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.topic.topic_arn,
            description="Subscribe on-call channels to autoar's alarms here",
        )
        output.override_logical_id("AlarmTopicArn")

    def watch_function(self, function: lambda_.IFunction, name: str) -> None:
        """Alarm when the function fails or is throttled."""
        self._alarm(
            f"{name}Errors",
            function.metric_errors(period=PERIOD),
            f"The {name} function raised errors.",
        )
        self._alarm(
            f"{name}Throttles",
            function.metric_throttles(period=PERIOD),
            f"The {name} function was throttled.",
        )

    def watch_dead_letter_queue(self, queue: sqs.IQueue, name: str) -> None:
        """Alarm as soon as one event waits in the queue: each is work autoar failed to do."""
        self._alarm(
            f"{name}Waiting",
            # Maximum, stated rather than left to CDK's default: one message is already an incident.
            queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            f"Events the {name} queue holds failed every retry and wait to be looked at.",
        )

    def watch_queue_age(self, queue: sqs.IQueue, name: str, *, older_than: Duration) -> None:
        """Alarm when the oldest message of a work queue has waited `older_than`: its consumer
        is not keeping up, or is not running at all."""
        self._alarm(
            f"{name}OldestMessage",
            queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            f"A message has waited in the {name} queue for {older_than.to_human_string()} or more.",
            threshold=older_than.to_seconds(),
        )

    def watch_rest_api(self, api: apigateway.RestApi, name: str) -> None:
        """Alarm when the API answers 5xx, whether from the gateway or the function."""
        self._alarm(
            f"{name}ServerErrors",
            api.metric_server_error(period=PERIOD),
            f"The {name} REST API answered with 5xx errors.",
        )

    def watch_table(self, table: dynamodb.ITable, name: str) -> None:
        """Alarm on DynamoDB-side errors and on throttled requests."""
        operations = list(TABLE_OPERATIONS)
        self._alarm(
            f"{name}SystemErrors",
            table.metric_system_errors_for_operations(operations=operations, period=PERIOD),
            f"DynamoDB returned system errors on the {name} table.",
        )
        self._alarm(
            f"{name}Throttles",
            table.metric_throttled_requests_for_operations(operations=operations, period=PERIOD),
            f"Requests to the {name} table were throttled.",
        )

    def watch_state_machine(self, state_machine: sfn.IStateMachine, name: str) -> None:
        """Alarm when an execution fails or times out: either leaves work unfinished."""
        self._alarm(
            f"{name}FailedExecutions",
            state_machine.metric_failed(period=PERIOD),
            f"Executions of the {name} state machine failed.",
        )
        self._alarm(
            f"{name}TimedOutExecutions",
            state_machine.metric_timed_out(period=PERIOD),
            f"Executions of the {name} state machine timed out.",
        )

    def _alarm(
        self, alarm_id: str, metric: cloudwatch.IMetric, description: str, threshold: float = 1
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)


def _build_topic(scope: Construct) -> sns.Topic:
    cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    key = kms.Key(
        scope,
        "TopicKey",
        description="Encrypts autoar's alarm notifications",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
    # CloudWatch publishes alarm state changes itself, so it must be able to use the key.
    key.grant(cloudwatch_service, "kms:Decrypt", "kms:GenerateDataKey*")

    topic = sns.Topic(
        scope, "Topic", display_name="autoar alarms", master_key=key, enforce_ssl=True
    )
    # The topic policy that enforces TLS replaces SNS's default one; say who may publish.
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[cloudwatch_service],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
    )
    return topic
