"""Fixtures shared by every test: AWS on moto with autoar's resources, a clock, the services."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from infra.local import moto_patches
from infra.local.provision import provision
from shared import services as services_module
from shared.audit.models import Actor, ActorKind
from shared.clock import SimulatedClock
from shared.services import Services
from shared.settings import Settings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches real AWS or the internet: fake credentials, and sockets only on loopback."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in {"127.0.0.1", "localhost", "::1"}:
            raise RuntimeError(f"tests must not reach the network ({host})")
        real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with every manifest resource created; yields the environment a function gets."""
    moto_patches.install()
    with mock_aws():
        names = provision(boto3.client("dynamodb"), boto3.client("s3"))
        environment = {**names, "REVIEW_SHARDS": "4", "POWERTOOLS_SERVICE_NAME": "autoar"}
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        yield environment


@pytest.fixture
def services(aws: dict[str, str], clock: SimulatedClock) -> Iterator[Services]:
    """autoar's services on moto and the test clock, installed for every handler."""
    installed = Services.build(Settings.from_env(os.environ), clock)
    services_module.use(installed)
    yield installed
    services_module.use(None)


@pytest.fixture
def integrator() -> Actor:
    return Actor(kind=ActorKind.INTEGRATOR, id="arn:aws:iam::123456789012:user/erp-sync")
