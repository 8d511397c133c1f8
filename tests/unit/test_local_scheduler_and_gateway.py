"""Pieces of the local runtime that stand in for EventBridge and API Gateway."""

import base64
import threading
import time
from datetime import timedelta

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from infra.local.gateway import proxy_event
from infra.local.router import EventRouter
from infra.local.scheduler import Scheduler
from infra.manifest import Function, Schedule
from tests.conftest import START

SWEEP = Schedule("sweep", "sweep", every_minutes=60)
DIGEST = Schedule("digest", "digest", every_minutes=24 * 60)


def test_schedules_fire_each_period_in_order_when_the_clock_jumps():
    fired = []
    scheduler = Scheduler([SWEEP, DIGEST], lambda f, e: fired.append((f, e["time"])), START)

    count = scheduler.tick(START + timedelta(days=1))

    assert count == 25
    assert fired[0] == ("sweep", "2026-03-02T10:00:00Z")
    assert fired.count(("digest", "2026-03-03T09:00:00Z")) == 1
    assert [t for _, t in fired] == sorted(t for _, t in fired)
    assert scheduler.tick(START + timedelta(days=1)) == 0


def test_a_scheduled_event_has_the_shape_eventbridge_delivers():
    events = []
    Scheduler([SWEEP], lambda f, e: events.append(e), START).tick(START + timedelta(hours=1))

    (event,) = events
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/sweep")


def test_one_minute_rates_are_written_as_eventbridge_accepts_them():
    assert Schedule("s", "f", 1).expression == "rate(1 minute)"
    assert Schedule("s", "f", 5).expression == "rate(5 minutes)"
    assert Schedule("s", "f", 60).expression == "rate(1 hour)"
    assert Schedule("s", "f", 180).expression == "rate(3 hours)"


def test_a_request_becomes_a_rest_proxy_event():
    event = proxy_event(
        "POST",
        "/accounts/ACME/invoices?dry=1&tag=a&tag=b",
        {"Content-Type": "application/json", "Idempotency-Key": "k-1"},
        b'{"amount": "1.00"}',
    )

    assert event["path"] == "/accounts/ACME/invoices"
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"dry": "1", "tag": "b"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["body"] == '{"amount": "1.00"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["identity"]["userArn"].startswith("arn:aws:iam::")


def test_binary_bodies_travel_base64_encoded():
    pdf = b"%PDF-1.7\xff\xfe"
    event = proxy_event("POST", "/documents", {"Content-Type": "application/pdf"}, pdf)

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == pdf


def _router(handler) -> EventRouter:
    router = EventRouter({})
    router.register("fn", Function("fn", "test", "task"), handler)
    return router


def test_drain_waits_for_invocations_started_by_other_invocations():
    router = EventRouter({})
    seen = []

    def parent(event, context):
        router.invoke_async("child", {"n": event["n"]})
        seen.append(("parent", event["n"]))

    def child(event, context):
        time.sleep(0.05)
        seen.append(("child", event["n"]))

    router.register("parent", Function("parent", "test", "task"), parent)
    router.register("child", Function("child", "test", "task"), child)
    for n in range(3):
        router.invoke_async("parent", {"n": n})

    router.drain(timeout=10)

    assert sorted(seen) == sorted(
        [("parent", n) for n in range(3)] + [("child", n) for n in range(3)]
    )
    router.shutdown()


def test_a_failed_asynchronous_invocation_is_recorded_not_lost():
    def broken(event, context):
        raise ValueError("bad event")

    router = _router(broken)
    router.invoke_async("fn", {})
    router.drain(timeout=10)

    assert [f.function for f in router.failures] == ["fn"]
    assert "bad event" in router.failures[0].error
    router.shutdown()


def test_one_function_runs_one_invocation_at_a_time_as_one_lambda_instance():
    running, overlap = [], []
    guard = threading.Lock()

    def handler(event, context):
        with guard:
            running.append(1)
            overlap.append(len(running))
        time.sleep(0.02)
        with guard:
            running.pop()

    router = _router(handler)
    for _ in range(6):
        router.invoke_async("fn", {})
    router.drain(timeout=10)

    assert max(overlap) == 1
    router.shutdown()


def test_an_unknown_function_is_named():
    with pytest.raises(LookupError, match="no function named ghost"):
        EventRouter({}).invoke("ghost", {})


def test_metrics_switched_off_neither_pile_up_nor_reach_the_console(monkeypatch, capsys):
    # Given the runtime's setting, and a handler publishing one metric value per invocation
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics = Metrics(namespace="autoar")

    @metrics.log_metrics
    def handler(event, context):
        metrics.add_metric(name="reminders_sent", unit=MetricUnit.Count, value=1)

    router = _router(handler)

    # When it runs more often than Powertools holds values of one metric (100)
    for _ in range(150):
        router.invoke("fn", {})

    # Then nothing was printed, and nothing is left over for the next invocation
    assert capsys.readouterr().out == ""
    assert Metrics(namespace="autoar").metric_set == {}
    router.shutdown()
