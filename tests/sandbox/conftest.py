"""Real sandbox servers for the API suite: one per database backend, seeded small, over real HTTP.

Every API test runs against SQLite and against the PostgreSQL of this machine. When PostgreSQL is
unreachable those runs are skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread

SERVICE_SECRET = "test-only-service-secret"
API_CUSTOMERS = 60
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_TEST_DATABASE = "fincs_sandbox_test"
BACKENDS = ("sqlite", "postgresql")


def as_money(backend: str, stored: Any) -> Decimal:
    """Amounts read with raw SQL: integer cents on SQLite, NUMERIC on PostgreSQL."""
    if backend == "sqlite":
        return Decimal(int(stored)).scaleb(-2)
    return Decimal(stored)


@dataclass
class RunningSandbox:
    backend: str
    base_url: str
    sync_url: str
    _engine: Engine | None = field(default=None, repr=False)

    def headers(self, customer_id: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {SERVICE_SECRET}", **extra}
        if customer_id:
            headers["X-Customer-Id"] = customer_id
        return headers

    def client(self, customer_id: str | None = None, **extra: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers=self.headers(customer_id, **extra), timeout=30
        )

    def async_client(self, customer_id: str | None = None, **extra: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers(customer_id, **extra), timeout=60
        )

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.sync_url, future=True)
        return self._engine

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def balance(self, account_number: str) -> Decimal:
        stored = self.scalar(
            "SELECT balance FROM bank_accounts WHERE account_number = :n", n=account_number
        )
        return as_money(self.backend, stored)

    def customers(self, where: str = "1=1", **params: Any) -> list[str]:
        """Unlocked customers matching an SQL condition on `c` (customers), in id order."""
        sql = f"SELECT c.id FROM customers c WHERE NOT c.locked AND ({where}) ORDER BY c.id"
        return [row[0] for row in self.rows(sql, **params)]

    def step_up_token(self, customer_id: str, purpose: str) -> str:
        """Go through the whole one-time-code flow, reading the code from the simulated phone."""
        with self.client(customer_id) as http:
            started = http.post("/v1/verification", json={"purpose": purpose})
            assert started.status_code == 201, started.text
            code = self.device_code(customer_id)
            confirmed = http.post(
                f"/v1/verification/{started.json()['verification_id']}/confirm", json={"code": code}
            )
            assert confirmed.status_code == 200, confirmed.text
            return confirmed.json()["verification_token"]

    def verified(self, customer_id: str, purpose: str) -> dict[str, str]:
        """Headers with a fresh step-up token: one token authorises one request."""
        return {"X-Verification-Token": self.step_up_token(customer_id, purpose)}

    def device_code(self, customer_id: str) -> str:
        with self.client() as http:
            inbox = http.get(f"/sandbox/devices/{customer_id}/messages").json()
        return next(m["code"] for m in inbox["messages"] if m["code"])

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def postgres_unavailable_reason() -> str | None:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return None
    except OSError as exc:
        return f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} ({exc})"


def require_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires the PostgreSQL runs")
    pytest.skip(reason)


def fresh_postgres_database(name: str) -> tuple[str, str]:
    """Drop and create the project's own test database; returns (async URL, sync URL)."""
    admin = create_engine(
        f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
        future=True,
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}",
        f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{name}",
    )


def database_urls(backend: str, directory: Path, name: str) -> tuple[str, str]:
    if backend == "postgresql":
        require_postgres()
        return fresh_postgres_database(name)
    path = directory / f"{name}.db"
    return f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}"


@pytest.fixture(scope="session")
def sandbox_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RunningSandbox]]:
    """Started lazily, one per backend, shared by every test module of the session."""
    started: dict[str, tuple[SandboxThread, RunningSandbox]] = {}

    class Servers(dict):
        def __missing__(self, backend: str) -> RunningSandbox:
            async_url, sync_url = database_urls(
                backend, tmp_path_factory.mktemp(backend), PG_TEST_DATABASE
            )
            settings = Settings(
                database_url=async_url,
                service_secret=SERVICE_SECRET,
                customers=API_CUSTOMERS,
                seed=7,
            )
            server = SandboxThread(settings)
            server.start()
            running = RunningSandbox(backend, f"http://127.0.0.1:{server.port}", sync_url)
            started[backend] = (server, running)
            self[backend] = running
            return running

    yield Servers()
    for server, running in started.values():
        running.close()
        server.stop()


@pytest.fixture(params=BACKENDS)
def sandbox(
    request: pytest.FixtureRequest, sandbox_servers: dict[str, RunningSandbox]
) -> RunningSandbox:
    return sandbox_servers[request.param]


@pytest.fixture
def sqlite_sandbox(sandbox_servers: dict[str, RunningSandbox]) -> RunningSandbox:
    return sandbox_servers["sqlite"]
