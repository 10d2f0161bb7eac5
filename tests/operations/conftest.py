"""A real sandbox for the operation tests: served over HTTP from this process, seeded small."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from clients.backend import BackendClient
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread

SERVICE_SECRET = "test-only-service-secret"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    database: Path = tmp_path_factory.mktemp("operations") / "sandbox.db"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        service_secret=SERVICE_SECRET,
        customers=60,
        seed=42,
    )
    server = SandboxThread(settings).start()
    yield server
    server.stop()


@pytest.fixture
async def client(sandbox: SandboxThread) -> AsyncIterator[BackendClient]:
    async with BackendClient(
        sandbox.base_url, SERVICE_SECRET, timeout_seconds=10, backoff_seconds=0.01
    ) as backend:
        yield backend
