"""Schemathesis over the agent desk's OpenAPI description: generated requests to the service API
(with the service secret) and the agents' API (with a signed-in agent's session), never answered
with a 5xx.

The test command runs it smoke-sized: Schemathesis's boundary and example cases for every
endpoint, plus FUZZ_EXAMPLES (default 10) generated inputs each. The full-sized hunt is
`FUZZ_EXAMPLES=50 .venv/bin/pytest tests/fuzz` (the size the test command ran before, about
three minutes on two cores), or more for a longer one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from common.ports import free_port
from services.desk.app import create_app
from services.desk.auth import SESSION_COOKIE
from services.desk.settings import DeskSettings
from services.sandbox.thread_server import ServerThread

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SERVICE_SECRET = "test-only-fuzz-desk-service-secret"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    database: Path = tmp_path_factory.mktemp("fuzz-desk") / "desk.db"
    settings = DeskSettings(
        service_secret=SERVICE_SECRET,
        session_secret="test-only-fuzz-session-secret",
        rasa_api_token="test-only-fuzz-rasa-token",
        demo_password="demo",
        database_url=f"sqlite+aiosqlite:///{database}",
        # Nobody listens there: relays and resumes wait in the outbox, as with Rasa down.
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_timeout_seconds=0.5,
    )
    server = ServerThread(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def agent_cookie(desk: ServerThread) -> str:
    reply = httpx.post(
        f"{desk.base_url}/console/login", data={"username": "agent", "password": "demo"}
    )
    assert reply.status_code == 303, reply.text
    return reply.cookies[SESSION_COOKIE]


@pytest.fixture(scope="module")
def desk_schema(desk: ServerThread) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{desk.base_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("desk_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_no_generated_request_gets_a_server_error(
    case: schemathesis.Case, agent_cookie: str
) -> None:
    case.call_and_validate(
        headers={
            "Authorization": f"Bearer {SERVICE_SECRET}",
            "Cookie": f"{SESSION_COOKIE}={agent_cookie}",
        },
        checks=[not_a_server_error],
        timeout=30,
    )
