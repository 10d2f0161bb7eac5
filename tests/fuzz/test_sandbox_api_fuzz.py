"""Schemathesis over the sandbox's OpenAPI description: generated requests to every endpoint,
past the service authentication, never answered with a 5xx.

The test command runs it smoke-sized: Schemathesis's boundary and example cases for every
endpoint, plus FUZZ_EXAMPLES (default 10) generated inputs each. The full-sized hunt is
`FUZZ_EXAMPLES=50 .venv/bin/pytest tests/fuzz` (the size the test command ran before, about
three minutes on two cores), or more for a longer one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SERVICE_SECRET = "test-only-fuzz-service-secret"
CUSTOMER = "C00001"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    database: Path = tmp_path_factory.mktemp("fuzz-sandbox") / "sandbox.db"
    server = SandboxThread(
        Settings(
            service_secret=SERVICE_SECRET,
            customers=5,
            seed=3,
            database_url=f"sqlite+aiosqlite:///{database}",
        )
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sandbox_schema(sandbox: SandboxThread) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{sandbox.base_url}/openapi.json")
    # Fault injection answers 5xx on purpose; fuzzing it would only test the fuzzer.
    return schema.exclude(path_regex="^/sandbox/faults")


schema = schemathesis.pytest.from_fixture("sandbox_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {SERVICE_SECRET}", "X-Customer-Id": CUSTOMER},
        checks=[not_a_server_error],
        timeout=30,
    )
