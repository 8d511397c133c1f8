"""The local runtime: autoar's whole system in one process, with no AWS account.

moto serves the AWS APIs on a loopback port; resources are created from the same manifest the
CDK app deploys; the real handlers run in-process behind moto's Lambda, an HTTP gateway, an SMTP
listener and drop folders; a scheduler fires the schedules on the runtime's clock, and each
queue feeds its consumer through an emulated event source mapping.

Schedule fires and queues are worked by a pump: on the real clock a background thread runs it
every half second, as AWS would; on a simulated clock only `settle()` runs it, so a simulation
is deterministic. A schedule that fell due several times since the pump last ran (a clock that
jumped a day runs the hourly sweep's 24 periods at once) runs once, for the latest period: the
sweep takes up everything due by then anyway.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.ses.models import ses_backends

from infra.local import moto_patches
from infra.local.gateway import Gateway
from infra.local.mail import DropFolder, InboundMail, Outbox, SmtpListener
from infra.local.provision import (
    create_functions,
    create_queues,
    create_signing_secret,
    create_state_machine,
    function_name,
    provision,
)
from infra.local.queues import EventSourceMapping
from infra.local.router import EventRouter
from infra.local.scheduler import Scheduler
from infra.manifest import (
    APPROVAL_STATE_MACHINE,
    FUNCTIONS,
    INBOX,
    LOCAL_NAMES,
    PROJECT_ROOT,
    QUEUES,
    SCHEDULES,
)
from shared import services as services_module
from shared.approvals.settings import VARIABLES as APPROVAL_VARIABLES
from shared.clock import Clock, SystemClock
from shared.outreach.settings import VARIABLES as OUTREACH_VARIABLES
from shared.services import Services
from shared.settings import Settings

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
MAIL_DOMAIN = "autoar.localhost"
SENDER = f"receivables@{MAIL_DOMAIN}"
SENDER_NAME = "Accounts receivable, autoar demo"
CONFIGURATION_SET = "autoar-outreach"
PUMP_SECONDS = 0.5
POLICY_FILE = PROJECT_ROOT / "shared" / "policy" / "example-policy.yaml"

logger = logging.getLogger("autoar.local.runtime")


@dataclass(frozen=True)
class Folders:
    root: Path

    @property
    def mail_drop(self) -> Path:
        return self.root / "mail-drop"

    @property
    def bank_drop(self) -> Path:
        return self.root / "bank-drop"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"


class LocalRuntime:
    def __init__(self, workdir: Path, clock: Clock | None = None, smtp: bool = True) -> None:
        self.folders = Folders(workdir)
        self.clock: Clock = clock or SystemClock()
        self._smtp_enabled = smtp
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._in_process = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self.endpoint = ""
        self.router = EventRouter({})
        self.functions = {function_name(f): f for f in FUNCTIONS}
        self.gateway: Gateway | None = None
        self._serving = False
        self.smtp: SmtpListener | None = None
        self.services: Services | None = None
        self.environment: dict[str, str] = {}
        self._previous_environment: dict[str, str | None] = {}
        self.mappings: list[EventSourceMapping] = []
        self._pending_fires: dict[str, dict[str, Any]] = {}
        self._pump_lock = threading.Lock()
        self._fires_lock = threading.Lock()
        self._pumping = threading.Event()
        self._pump_thread: threading.Thread | None = None

    def start(self) -> LocalRuntime:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_patches.install()
        _route_lambda_invokes_to(self.router)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.environment = self._configure_environment(port)
        _reset_moto(self.endpoint)
        _configure_moto(self.endpoint, execute_state_machines=True)
        # The handlers run in this process and reach moto's backends directly, not over HTTP:
        # the same backends the server answers other processes from, a few times faster.
        self._in_process.start(reset=False)
        provision(boto3.client("dynamodb"), boto3.client("s3"))
        self._export(create_queues(boto3.client("sqs"), QUEUES))
        # Bound now, served later: approval links name its URL before any handler runs.
        self.gateway = Gateway(self._http_routes())
        function_arns = self._create_functions()
        self._provision_approvals(function_arns)
        self._verify_mail_identities()
        self.services = Services.build(Settings.from_env(), self.clock)
        services_module.use(self.services)
        self._start_front_doors()
        self._map_queues()
        if isinstance(self.clock, SystemClock):
            self._start_pump_thread()
        return self

    def stop(self) -> None:
        self._pumping.set()
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=30)
        if self.smtp:
            self.smtp.stop()
        if self.gateway and self._serving:
            self.gateway.stop()
        self._stop_approvals()
        self.router.shutdown()
        services_module.use(None)
        self._in_process.stop()
        self._stop_executing_state_machines()
        self._moto.stop()
        for name, value in self._previous_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "start the runtime first"
        return self.gateway.url

    def settle(self) -> None:
        """Run everything waiting until nothing is: dropped files, schedules due on the clock
        (the sweep), the queues (decide) and what they set off; then write the outbox."""
        while True:
            self.scheduler.tick(self.clock.now())
            worked = self.mail_drop.scan() + self.bank_drop.scan()
            self.router.drain()
            worked += self.pump()
            self.router.drain()
            if not worked:
                break
        self.outbox.flush()

    def pump(self) -> int:
        """Run the schedule fires waiting (each schedule once), then drain every queue into its
        consumer; returns how many fires and messages were handled."""
        with self._pump_lock:
            with self._fires_lock:
                fires = list(self._pending_fires.items())
                self._pending_fires.clear()
            for function, event in fires:
                self.router.invoke(self._physical_name(function), event)
            return len(fires) + sum(mapping.drain() for mapping in self.mappings)

    def _configure_environment(self, port: int) -> dict[str, str]:
        environment = {
            "MOTO_PORT": str(port),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "REVIEW_SHARDS": "16",
            "POWERTOOLS_SERVICE_NAME": "autoar",
            "POWERTOOLS_METRICS_NAMESPACE": "autoar",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AUTOAR_MAIL_DOMAIN": MAIL_DOMAIN,
            "AUTOAR_SENDER": SENDER,
            **LOCAL_NAMES,
        }
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            self._previous_environment[name] = os.environ.pop(name, None)
        self._export(environment)
        return environment

    def _export(self, variables: Mapping[str, str]) -> None:
        """Set environment variables for every handler; `stop` puts the previous values back."""
        for name in variables:
            self._previous_environment.setdefault(name, os.environ.get(name))
        os.environ.update(variables)
        self.environment = {**self.environment, **variables}

    def _create_functions(self) -> dict[str, str]:
        """Create every function in moto, routed to its handler; returns name -> ARN."""
        for name, function in self.functions.items():
            self.router.register(name, function)
        arns = create_functions(
            boto3.client("lambda"), boto3.client("iam"), FUNCTIONS, self.environment
        )
        notifications = [
            _notification(arns[f.name], f.s3_prefix)
            for f in FUNCTIONS
            if f.trigger == "s3" and f.s3_prefix
        ]
        if notifications:
            boto3.client("s3").put_bucket_notification_configuration(
                Bucket=LOCAL_NAMES[INBOX.env_var],
                NotificationConfiguration={"LambdaFunctionConfigurations": notifications},
            )
        return arns

    def _provision_approvals(self, function_arns: dict[str, str]) -> None:
        """The signing key, the approval state machine from the manifest's definition file, and
        the settings the approval functions read."""
        machine_arn = create_state_machine(
            boto3.client("stepfunctions"),
            boto3.client("iam"),
            APPROVAL_STATE_MACHINE,
            function_arns,
        )
        assert self.gateway is not None
        approvals = {
            "state_machine_arn": machine_arn,
            "signing_secret_arn": create_signing_secret(boto3.client("secretsmanager")),
            "base_url": self.gateway.url,
            "sender_address": SENDER,
            "policy_source": f"file:{POLICY_FILE}",
        }
        outreach = {
            "sender_address": SENDER,
            "sender_name": SENDER_NAME,
            "mail_domain": MAIL_DOMAIN,
            "configuration_set": CONFIGURATION_SET,
        }
        self._export(
            {APPROVAL_VARIABLES[name]: value for name, value in approvals.items()}
            | {OUTREACH_VARIABLES[name]: value for name, value in outreach.items()}
        )

    def _stop_approvals(self) -> None:
        """Stop approvals still waiting, so no timer fires into a stopped runtime."""
        arn = self.environment.get(APPROVAL_STATE_MACHINE.env_var)
        try:
            if arn:
                stepfunctions = boto3.client("stepfunctions")
                running = stepfunctions.list_executions(stateMachineArn=arn, statusFilter="RUNNING")
                for execution in running["executions"]:
                    stepfunctions.stop_execution(executionArn=execution["executionArn"])
        except (OSError, BotoCoreError, ClientError) as error:
            # Stopping goes on regardless: the process is leaving moto behind anyway.
            logger.warning("approvals not stopped cleanly: %r", error)

    def _stop_executing_state_machines(self) -> None:
        """Switch moto's process-wide execution of state machines off again.

        Only once the in-process mock has stopped: it restores the configuration it found when
        it started, which already had execution switched on, and would undo this.
        """
        try:
            _configure_moto(self.endpoint, execute_state_machines=False)
        except OSError as error:
            logger.warning("moto left executing state machines: %r", error)

    def _http_routes(self) -> dict[str, Any]:
        return {
            f.route: _sync_invoker(self.router, name)
            for name, f in self.functions.items()
            if f.trigger == "http" and f.route
        }

    def _verify_mail_identities(self) -> None:
        ses = boto3.client("ses")
        ses.verify_domain_identity(Domain=MAIL_DOMAIN)
        ses.verify_email_identity(EmailAddress=SENDER)
        # moto publishes no bounces for it; created so outreach sends exactly as in AWS.
        ses.create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})

    def _start_front_doors(self) -> None:
        bucket = LOCAL_NAMES[INBOX.env_var]
        s3 = boto3.client("s3")
        assert self.gateway is not None
        self.gateway.start()
        self._serving = True
        self.inbound = InboundMail(
            s3, bucket, INBOX.mail_prefix, self._deliver_mail, self.clock.now
        )
        if self._smtp_enabled:
            self.smtp = SmtpListener(self.inbound)
            self.smtp.start()
        self.mail_drop = DropFolder(
            self.folders.mail_drop, lambda p: self.inbound.receive(p.read_bytes()), "*.eml"
        )
        self.bank_drop = DropFolder(
            self.folders.bank_drop,
            lambda p: s3.put_object(
                Bucket=bucket, Key=INBOX.remittance_prefix + p.name, Body=p.read_bytes()
            ),
        )
        self.outbox = Outbox(self.folders.outbox, _sent_messages)
        self.scheduler = Scheduler(SCHEDULES, self._fire_schedule, self.clock.now())

    def _deliver_mail(self, event: dict[str, Any]) -> None:
        name = self._name_of("ses")
        if name is None:
            return
        self.router.invoke_async(name, event)

    def _fire_schedule(self, function: str, event: dict[str, Any]) -> None:
        """Leave the fire to the pump; a later fire of the same function replaces it."""
        with self._fires_lock:
            self._pending_fires[function] = event

    def _physical_name(self, function: str) -> str:
        return next(n for n, f in self.functions.items() if f.name == function)

    def _map_queues(self) -> None:
        """An event source mapping per queue, invoking its consumer as Lambda's poller does."""
        sqs = boto3.client("sqs")
        for queue in QUEUES:
            invoke = functools.partial(self.router.invoke, self._physical_name(queue.consumer.name))
            url = self.environment[queue.env_var]
            self.mappings.append(EventSourceMapping(sqs, queue, url, invoke, self.clock))

    def _start_pump_thread(self) -> None:
        def run() -> None:
            while not self._pumping.wait(PUMP_SECONDS):
                try:
                    self.pump()
                except Exception as error:  # the pump goes on, as AWS's pollers do
                    logger.error("pump failed: %r", error)

        self._pump_thread = threading.Thread(target=run, name="pump", daemon=True)
        self._pump_thread.start()

    def _name_of(self, trigger: str) -> str | None:
        return next((n for n, f in self.functions.items() if f.trigger == trigger), None)


@contextmanager
def running(workdir: Path, clock: Clock | None = None, smtp: bool = True) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(workdir, clock, smtp).start()
    try:
        yield runtime
    finally:
        runtime.stop()


def _reset_moto(endpoint: str) -> None:
    """moto's backends live in the process: start every runtime from empty ones."""
    request = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _configure_moto(endpoint: str, *, execute_state_machines: bool) -> None:
    """Switch moto's Step Functions between running definitions and only storing them.

    The setting is process-wide, so it is switched off again when the runtime stops.
    """
    body = json.dumps({"stepfunctions": {"execute_state_machine": execute_state_machines}})
    request = urllib.request.Request(
        endpoint + "/moto-api/config",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _route_lambda_invokes_to(router: EventRouter) -> None:
    def invoke(function: LambdaFunction, body: Any, request_headers: Any, _: Any) -> str:
        return router.moto_invoke(function.function_name, body, request_headers)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign,assignment]


def _sync_invoker(router: EventRouter, name: str) -> Any:
    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = router.invoke(name, event)
        return response

    return invoke


def _notification(function_arn: str, prefix: str) -> Any:
    return {
        "LambdaFunctionArn": function_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
    }


def _sent_messages() -> list[Any]:
    messages: list[Any] = ses_backends[ACCOUNT_ID][REGION].sent_messages
    return messages
