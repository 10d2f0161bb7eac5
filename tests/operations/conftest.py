"""A real sandbox for the operation tests: served over HTTP from this process, seeded small.

The seeded database is made once per run; each test module gets a sandbox of its own on a copy
of it, so the transfers, blocked cards and filed claims of one module never reach another and
every module runs alone or in any order with the same result. A test that changes state it
must not share (each form walked to its end) takes a fresh copy of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clients.backend import BackendClient
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread

SERVICE_SECRET = "test-only-service-secret"


def sandbox_settings(database: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        service_secret=SERVICE_SECRET,
        customers=60,
        seed=42,
    )


@contextmanager
def sandbox_on_copy(seeded: Path, directory: Path) -> Iterator[SandboxThread]:
    """A sandbox serving its own copy of the seeded database (it finds it seeded already)."""
    database = directory / "sandbox.db"
    shutil.copyfile(seeded, database)
    server = SandboxThread(sandbox_settings(database)).start()
    try:
        yield server
    finally:
        server.stop()


def backend_client(sandbox: SandboxThread) -> BackendClient:
    return BackendClient(sandbox.base_url, SERVICE_SECRET, timeout_seconds=10, backoff_seconds=0.01)


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("seeded") / "sandbox.db"
    SandboxThread(sandbox_settings(database)).start().stop()
    return database


@pytest.fixture(scope="module")
def sandbox(
    seeded_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxThread]:
    with sandbox_on_copy(seeded_database, tmp_path_factory.mktemp("operations")) as server:
        yield server


@pytest.fixture
async def client(sandbox: SandboxThread) -> AsyncIterator[BackendClient]:
    async with backend_client(sandbox) as backend:
        yield backend
