"""The one description of autoar's AWS resources, read by the CDK app and the local runtime.

Key schemas, index names, bucket prefixes, queue names and the state machine definition live here
so that what runs on a laptop and what is deployed to AWS cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

KeyType = Literal["S", "N"]

INFRA_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = INFRA_DIR.parent


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index; sparse unless every item carries its keys."""

    name: str
    partition: Key
    sort: Key | None = None


@dataclass(frozen=True)
class Table:
    logical_id: str
    env_var: str
    partition: Key
    sort: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: bool = False

    def attribute_definitions(self) -> list[Key]:
        """Every key attribute the table and its indexes use, each once."""
        keys: dict[str, Key] = {}
        for key in (self.partition, self.sort):
            if key is not None:
                keys[key.name] = key
        for index in self.indexes:
            for key in (index.partition, index.sort):
                if key is not None:
                    keys[key.name] = key
        return list(keys.values())


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    env_var: str
    remittance_prefix: str
    mail_prefix: str
    documents_prefix: str
    raw_mail_retention_days: int


Trigger = Literal["http", "s3", "ses", "schedule", "sqs", "task"]


@dataclass(frozen=True)
class Function:
    """A Lambda function: its package under functions/ and what invokes it.

    `route` is the path prefix an HTTP function serves; `s3_prefix` the bucket prefix whose
    new objects invoke an S3-triggered one.
    """

    name: str
    description: str
    trigger: Trigger
    timeout_seconds: int = 30
    memory_mb: int = 512
    route: str | None = None
    s3_prefix: str | None = None

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.handler.lambda_handler"


@dataclass(frozen=True)
class Queue:
    """An SQS queue that feeds one function in batches, with a dead-letter queue behind it.

    The consumer reports partial batch failures (`ReportBatchItemFailures`): only the messages it
    names are retried; one that fails `max_receive_count` times moves to the dead-letter queue.
    """

    logical_id: str
    env_var: str
    """Holds the queue's URL in the environment of the functions that send to it."""
    consumer: Function
    batch_size: int
    """At most 10: what one ReceiveMessage returns, and so what the local runtime can hand on."""
    visibility_timeout_seconds: int
    """At least VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT times the consumer's timeout."""
    max_receive_count: int
    max_concurrency: int
    """The most batches the event source mapping hands the consumer at once (at least 2)."""
    retention_days: int = 4
    dead_letter_retention_days: int = 14

    def __post_init__(self) -> None:
        least = VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT * self.consumer.timeout_seconds
        if self.visibility_timeout_seconds < least:
            raise ValueError(
                f"queue {self.logical_id}: a visibility timeout of at least {least} seconds, "
                f"{VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT} times {self.consumer.name}'s timeout"
            )
        if not 1 <= self.batch_size <= MAX_RECEIVE_BATCH:
            raise ValueError(f"queue {self.logical_id}: a batch of 1 to {MAX_RECEIVE_BATCH}")

    @property
    def dead_letter_logical_id(self) -> str:
        return f"{self.logical_id}DeadLetters"


VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT = 6
"""AWS's advice for a queue behind Lambda: a batch still being retried by the poller is then not
handed to a second instance meanwhile."""
MAX_RECEIVE_BATCH = 10


@dataclass(frozen=True)
class Schedule:
    """An EventBridge schedule that invokes a function every `every_minutes`."""

    name: str
    function: str
    every_minutes: int

    @property
    def expression(self) -> str:
        """As EventBridge accepts it: whole hours in hours, a singular unit for 1."""
        count, unit = self.every_minutes, "minute"
        if count % 60 == 0:
            count, unit = count // 60, "hour"
        return f"rate({count} {unit}{'' if count == 1 else 's'})"


@dataclass(frozen=True)
class StateMachine:
    """A Step Functions state machine: its definition file, and what each `${Name}` in it stands
    for, as the manifest name of the function whose ARN replaces it. The CDK app passes the
    file and these substitutions to `DefinitionBody.from_file`; the local runtime substitutes
    the ARNs of its own functions."""

    logical_id: str
    env_var: str
    definition_path: Path
    substitutions: Mapping[str, str] = field(default_factory=dict)

    def definition(self, function_arns: Mapping[str, str]) -> str:
        """The definition with each `${Name}` replaced by the ARN of the function it names."""
        text = self.definition_path.read_text(encoding="utf-8")
        for placeholder, function in self.substitutions.items():
            text = text.replace("${" + placeholder + "}", function_arns[function])
        if "${" in text:
            raise ValueError(f"{self.definition_path.name} has a substitution the manifest lacks")
        return text


REVIEW_SHARDS = 16
"""How many partitions the next-review index spreads accounts over, so the sweep never reads a
single hot partition; sixteen keeps a million accounts well under DynamoDB's partition limits."""

LEDGER = Table(
    logical_id="LedgerTable",
    env_var="LEDGER_TABLE_NAME",
    partition=Key("PK"),
    sort=Key("SK"),
    indexes=(
        Index("by-next-review", Key("review_shard"), Key("next_review_key")),
        Index("by-invoice-number", Key("invoice_number_key"), Key("PK")),
        Index("by-unapplied", Key("unapplied_key"), Key("received_key")),
    ),
)

AUDIT = Table(
    logical_id="AuditTable",
    env_var="AUDIT_TABLE_NAME",
    partition=Key("PK"),
    sort=Key("sequence", "N"),
)

IDEMPOTENCY = Table(
    logical_id="IdempotencyTable",
    env_var="IDEMPOTENCY_TABLE_NAME",
    partition=Key("id"),
    ttl_attribute="expiration",
)

TABLES: tuple[Table, ...] = (LEDGER, AUDIT, IDEMPOTENCY)

INBOX = Bucket(
    logical_id="InboxBucket",
    env_var="INBOX_BUCKET_NAME",
    remittance_prefix="inbox/remittance/",
    mail_prefix="inbox/mail/",
    documents_prefix="documents/",
    raw_mail_retention_days=400,
)

API = Function(
    "api", "Integrator API: accounts, invoices, credit notes, payments, audit", "http", route="/"
)

INBOUND_MAIL = Function(
    "inbound_mail",
    "Customer mail: store it, tie it to an account, put the account up for review",
    "ses",
    memory_mb=1024,
)
REMITTANCE = Function(
    "remittance",
    "Bank files and remittance advice dropped in the inbox bucket",
    "s3",
    timeout_seconds=120,
    memory_mb=1024,
    s3_prefix=INBOX.remittance_prefix,
)

APPROVALS = Function(
    "approvals",
    "The approval page behind emailed signed links: GET shows, POST decides",
    "http",
    route="/approvals",
)
APPROVAL_REQUEST = Function(
    "approval_request",
    "Approval task: keep the task token, email the approver asked now; move on when they lapse",
    "task",
)
EXECUTE = Function(
    "execute",
    "Approval task: carry out an approved action, or record the rejection, expiry or failure",
    "task",
    timeout_seconds=60,
)

SWEEP = Function(
    "sweep",
    "Collections: find the accounts whose next review is due and queue each for a decision",
    "schedule",
    timeout_seconds=300,
)
DECIDE = Function(
    "decide",
    "Collections: one decision per queued account; gate it, act, audit, schedule the next review",
    "sqs",
    timeout_seconds=90,
    memory_mb=1024,
)

FUNCTIONS: tuple[Function, ...] = (
    API,
    INBOUND_MAIL,
    REMITTANCE,
    APPROVALS,
    APPROVAL_REQUEST,
    EXECUTE,
    SWEEP,
    DECIDE,
)

DECIDE_QUEUE = Queue(
    logical_id="DecideQueue",
    env_var="DECIDE_QUEUE_URL",
    consumer=DECIDE,
    batch_size=10,
    visibility_timeout_seconds=VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT * DECIDE.timeout_seconds,
    # Five receives before the dead-letter queue, as AWS advises for Lambda consumers, so a
    # throttled or conflicting decision has room to succeed; a bad message parks after that.
    max_receive_count=5,
    max_concurrency=10,
)

QUEUES: tuple[Queue, ...] = (DECIDE_QUEUE,)

APPROVAL_STATE_MACHINE = StateMachine(
    logical_id="ApprovalStateMachine",
    env_var="APPROVAL_STATE_MACHINE_ARN",
    definition_path=INFRA_DIR / "statemachines" / "approval.asl.json",
    substitutions={
        "ApprovalRequestFunctionArn": APPROVAL_REQUEST.name,
        "ExecuteFunctionArn": EXECUTE.name,
    },
)

STATE_MACHINES: tuple[StateMachine, ...] = (APPROVAL_STATE_MACHINE,)

SWEEP_SCHEDULE = Schedule("sweep", SWEEP.name, every_minutes=60)
"""Hourly: a review falls due at most an hour before it is taken up, and a sweep that finds
nothing due costs one query per shard. The deploy setting `sweepSchedule` defaults to it."""

SCHEDULES: tuple[Schedule, ...] = (SWEEP_SCHEDULE,)
"""What the local runtime fires on its clock. In AWS each rule is a construct's, on the
schedule the deploy settings give (the sweep's: `sweepSchedule`)."""

LOCAL_NAMES: dict[str, str] = {
    LEDGER.env_var: "autoar-ledger",
    AUDIT.env_var: "autoar-audit",
    IDEMPOTENCY.env_var: "autoar-idempotency",
    INBOX.env_var: "autoar-inbox",
}
"""Physical names the local runtime gives each resource (CloudFormation names them in AWS)."""

LOCAL_STATE_MACHINE_NAMES: dict[str, str] = {APPROVAL_STATE_MACHINE.env_var: "autoar-approval"}
"""Names of the local runtime's state machines; functions are given their ARNs, not names."""

LOCAL_QUEUE_NAMES: dict[str, str] = {DECIDE_QUEUE.env_var: "autoar-decide"}
"""Names of the local runtime's queues; each dead-letter queue adds `-dlq`. Functions are given
the URLs, as the CDK app gives them in AWS."""
