"""autoar's state: the DynamoDB tables and inbox bucket from the manifest, and the grants on them,
so what a function may do to the ledger or the audit trail is decided in one place.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.manifest import AUDIT, IDEMPOTENCY, INBOX, LEDGER, REVIEW_SHARDS, TABLES, Key, Table

NONCURRENT_VERSION_DAYS = 30
ACCESS_LOG_RETENTION_DAYS = 400

# Idempotency records are a short-lived cache that expires by TTL: losing the table loses
# nothing, so it alone is deleted with the stack. Everything else is a record of the business.
_DISPOSABLE_TABLES = frozenset({IDEMPOTENCY.logical_id})

_AUDIT_APPEND_ACTIONS = ("dynamodb:PutItem",)
_INDEX_QUERY = "dynamodb:Query"
_INBOX_OBJECT_READ = "s3:GetObject"
_INBOX_VERSION_READ = "s3:GetObjectVersion"


class Storage(Construct):
    """The ledger, audit and idempotency tables and the inbox bucket with its access-log bucket."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        self.tables: dict[str, dynamodb.Table] = {
            spec.logical_id: _build_table(self, spec) for spec in TABLES
        }
        self.access_log_bucket = _build_access_log_bucket(self)
        self.inbox_bucket = _build_inbox_bucket(self, self.access_log_bucket)

    @property
    def ledger(self) -> dynamodb.Table:
        return self.tables[LEDGER.logical_id]

    @property
    def audit(self) -> dynamodb.Table:
        return self.tables[AUDIT.logical_id]

    @property
    def idempotency(self) -> dynamodb.Table:
        return self.tables[IDEMPOTENCY.logical_id]

    def function_environment(self) -> dict[str, str]:
        """The variables `shared.settings` reads at cold start: resource names and shard count."""
        environment = {spec.env_var: self.tables[spec.logical_id].table_name for spec in TABLES}
        environment[INBOX.env_var] = self.inbox_bucket.bucket_name
        environment["REVIEW_SHARDS"] = str(REVIEW_SHARDS)
        return environment

    def grant_ledger_read_write(self, grantee: iam.IGrantable) -> None:
        self.ledger.grant_read_write_data(grantee)
        _acknowledge_on_principal(
            grantee,
            f"AwsSolutions-IAM5[Resource::<{LEDGER.logical_id}.Arn>/index/*]",
            "Queries the ledger's indexes (next review, invoice number, unapplied payments); "
            "index ARNs can only be granted together as index/* of this one table.",
        )

    def grant_ledger_index_query(self, grantee: iam.IGrantable, index_name: str) -> None:
        """Query one of the ledger's indexes, and nothing else: no item of the table itself."""
        if index_name not in {index.name for index in LEDGER.indexes}:
            raise ValueError(f"the ledger has no index {index_name!r}")
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[_INDEX_QUERY],
            resource_arns=[f"{self.ledger.table_arn}/index/{index_name}"],
        )

    def grant_audit_append(self, grantee: iam.IGrantable) -> None:
        """Read the trail and add events to it; never update or delete one.

        PutItem alone can overwrite, so the writer makes every put conditional on the sequence
        not existing; what IAM guarantees is that no UpdateItem, DeleteItem or batch write exists.
        """
        self.audit.grant_read_data(grantee)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(_AUDIT_APPEND_ACTIONS),
            resource_arns=[self.audit.table_arn],
        )

    def grant_idempotency_read_write(self, grantee: iam.IGrantable) -> None:
        self.idempotency.grant_read_write_data(grantee)

    def grant_inbox_read(
        self,
        grantee: iam.IGrantable,
        prefix: str,
        *,
        include_versions: bool = False,
        tell_missing: bool = False,
    ) -> None:
        """Read objects under one prefix of the inbox bucket, and nothing else in it.

        Not `bucket.grant_read`, which adds s3:List* and s3:GetBucket* on the whole bucket: an
        intake function is told which object to read by the event that invokes it, and bank
        file names and raw mail are not each other's business. Without s3:ListBucket, S3 answers
        a read of a missing key with 403 rather than 404; `tell_missing` grants the listing of
        this prefix alone, for a reader whose keys come from records that may name an object
        not (yet) stored.
        """
        if not prefix.endswith("/"):
            # "inbox/mail*" would also match "inbox/mailbox/..."; a prefix is a folder here.
            raise ValueError(f"inbox prefix {prefix!r} must end with '/'")
        actions = [_INBOX_OBJECT_READ]
        if include_versions:
            actions.append(_INBOX_VERSION_READ)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=actions,
            resource_arns=[self.inbox_bucket.arn_for_objects(f"{prefix}*")],
        )
        if tell_missing:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.inbox_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": f"{prefix}*"}},
                )
            )
        _acknowledge_on_principal(
            grantee,
            f"AwsSolutions-IAM5[Resource::<{INBOX.logical_id}.Arn>/{prefix}*]",
            f"Reads the objects that arrive under {prefix} of the inbox bucket, whose names are "
            "not known in advance; no other prefix, no listing and no bucket-level actions.",
        )


def _build_table(scope: Construct, spec: Table) -> dynamodb.Table:
    disposable = spec.logical_id in _DISPOSABLE_TABLES
    table = dynamodb.Table(
        scope,
        spec.logical_id,
        partition_key=_attribute(spec.partition),
        sort_key=_attribute(spec.sort) if spec.sort else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=not disposable,
        removal_policy=RemovalPolicy.DESTROY if disposable else RemovalPolicy.RETAIN,
        time_to_live_attribute=spec.ttl_attribute,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
    )
    for index in spec.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition),
            sort_key=_attribute(index.sort) if index.sort else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )

    pin_logical_id(table, spec.logical_id)
    return table


def _build_access_log_bucket(scope: Construct) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        "AccessLogBucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        # S3 server access logging can only deliver to a bucket encrypted with S3-managed keys.
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_RETENTION_DAYS)
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    Validations.of(bucket).acknowledge(
        Acknowledgment(
            id="AwsSolutions-S1",
            reason=(
                "This bucket is where the inbox bucket's server access logs go; logging it to "
                "itself would log its own log deliveries."
            ),
        )
    )
    return bucket


def _build_inbox_bucket(scope: Construct, access_logs: s3.IBucket) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        INBOX.logical_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="inbox-bucket/",
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-raw-mail",
                prefix=INBOX.mail_prefix,
                expiration=Duration.days(INBOX.raw_mail_retention_days),
            ),
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            ),
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    pin_logical_id(bucket, INBOX.logical_id)
    return bucket


def _attribute(key: Key) -> dynamodb.Attribute:
    kind = dynamodb.AttributeType.NUMBER if key.type == "N" else dynamodb.AttributeType.STRING
    return dynamodb.Attribute(name=key.name, type=kind)


def pin_logical_id(construct: Construct, logical_id: str) -> None:
    """Give a stateful resource the manifest's logical id, so moving a construct in the tree can
    never make CloudFormation replace it: a table or bucket orphaned beside a new one, or a
    queue losing the messages waiting in it."""
    resource = construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to name")
    resource.override_logical_id(logical_id)


def _acknowledge_on_principal(grantee: iam.IGrantable, finding: str, reason: str) -> None:
    principal = grantee.grant_principal
    if isinstance(principal, Construct):
        Validations.of(principal).acknowledge(Acknowledgment(id=finding, reason=reason))
