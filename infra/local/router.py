"""Runs autoar's real handlers in-process wherever AWS would invoke a Lambda function.

moto can store functions but cannot run them without Docker; the router takes over moto's
invoke so that S3 notifications, Step Functions tasks and direct invokes reach the same
handler code as in AWS. Asynchronous invokes run on a thread pool, and `drain` waits until
nothing is in flight, which is what lets a simulation advance its clock deterministically.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Metrics

from infra.local.lambda_context import LambdaContext
from infra.manifest import Function

Handler = Callable[[dict[str, Any], Any], Any]

logger = logging.getLogger("autoar.local.router")


@dataclass
class FailedInvocation:
    function: str
    error: str


class EventRouter:
    def __init__(self, functions: Mapping[str, Function], workers: int = 4) -> None:
        """`functions` maps each deployed (physical) function name to its manifest entry."""
        self._functions = dict(functions)
        self._handlers: dict[str, Handler] = {}
        self._instances: dict[str, threading.Lock] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self._in_flight = 0
        self._idle = threading.Condition()
        self.failures: list[FailedInvocation] = []
        self.invocations: dict[str, int] = {}

    def register(self, name: str, function: Function, handler: Handler | None = None) -> None:
        self._functions[name] = function
        if handler is not None:
            self._handlers[name] = handler

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Run the function now and return what its handler returns; errors propagate.

        One invocation per function at a time, as one Lambda instance runs them: handler
        modules (Powertools' resolver among them) keep per-request state at module level.
        """
        function = self._function(name)
        context = LambdaContext(name, function.timeout_seconds, function.memory_mb)
        with self._instance(name):
            self.invocations[function.name] = self.invocations.get(function.name, 0) + 1
            try:
                return self._handler(name)(event, context)
            finally:
                _discard_unpublished_metrics()

    def invoke_async(self, name: str, event: dict[str, Any]) -> Future[Any]:
        """Queue the function as an asynchronous (Event) invoke; failures are recorded."""
        self._function(name)
        with self._idle:
            self._in_flight += 1
        future = self._pool.submit(self.invoke, name, event)
        future.add_done_callback(lambda done: self._finished(name, done))
        return future

    def drain(self, timeout: float = 120.0) -> None:
        """Wait until no asynchronous invoke is running, including ones started meanwhile."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout):
                raise TimeoutError(f"{self._in_flight} invocations still running")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def moto_invoke(self, name: str, body: str | bytes | None, request_headers: Any) -> str:
        """moto's invoke, answered by the real handler; S3 passes no headers and is async."""
        event = json.loads(body) if body else {}
        invocation_type = "Event"
        if request_headers:
            invocation_type = request_headers.get("x-amz-invocation-type") or "RequestResponse"
        if invocation_type == "Event":
            self.invoke_async(name, event)
            return ""
        return json.dumps(self.invoke(name, event), default=str)

    def _finished(self, name: str, done: Future[Any]) -> None:
        error = done.exception()
        if error is not None:
            logger.error("async invocation failed: %s: %r", name, error)
            self.failures.append(FailedInvocation(name, repr(error)))
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def _function(self, name: str) -> Function:
        try:
            return self._functions[name]
        except KeyError:
            raise LookupError(f"no function named {name} in the local runtime") from None

    def _instance(self, name: str) -> threading.Lock:
        with self._idle:
            return self._instances.setdefault(name, threading.Lock())

    def _handler(self, name: str) -> Handler:
        if name not in self._handlers:
            module, _, attribute = self._functions[name].handler.rpartition(".")
            self._handlers[name] = getattr(importlib.import_module(module), attribute)
        return self._handlers[name]


def _discard_unpublished_metrics() -> None:
    """Drop what an invocation would have published to CloudWatch.

    The runtime switches Powertools metrics off, and then `log_metrics` neither prints nor
    clears them: they would pile up in the shared metric set across invocations, and a metric
    reaching 100 values is printed regardless, onto the demo's console.
    """
    Metrics().clear_metrics()
