"""Synthesizes the CDK app once per test session (about ten seconds) and shares the result."""

from __future__ import annotations

import pytest

from tests.infra.stack_synth import DEPLOY_CONTEXT, Synthesized, synthesize_app


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize_app(tmp_path_factory.mktemp("cdk.out"), DEPLOY_CONTEXT)
