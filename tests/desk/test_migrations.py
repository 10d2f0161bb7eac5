"""The desk's migrations build exactly the schema its models describe, on SQLite and on
PostgreSQL, and a database the desk made with create_all before migrations is taken over."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.desk.migrations import BASELINE_REVISION, alembic_config, upgrade_to_head
from services.desk.models import Base
from tests.sandbox.conftest import database_urls

PG_TEST_DATABASE = "fincs_desk_migrations_test"
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def differences(connection: Connection) -> list[object]:
    return compare_metadata(
        MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
    )


def revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_a_fresh_database_upgraded_to_head_matches_the_models(
    backend: str, tmp_path: Path
) -> None:
    url, _ = database_urls(backend, tmp_path, PG_TEST_DATABASE)
    engine = create_async_engine(url, future=True)
    try:
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
            assert await connection.run_sync(revision) == HEAD
        # A second start finds nothing to do.
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def test_a_database_made_by_create_all_is_completed_and_taken_over(tmp_path: Path) -> None:
    url, _ = database_urls("sqlite", tmp_path, "desk_before_migrations")
    engine = create_async_engine(url, future=True)
    try:
        # As a desk from before the console sessions table made it.
        async with engine.begin() as connection:
            tables = [t for t in Base.metadata.sorted_tables if t.name != "agent_sessions"]
            await connection.run_sync(Base.metadata.create_all, tables=tables)
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
            assert await connection.run_sync(revision) == HEAD
            assert await connection.run_sync(lambda c: inspect(c).has_table("agent_sessions"))
    finally:
        await engine.dispose()


def test_the_baseline_is_the_first_revision() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_revision(BASELINE_REVISION).down_revision is None
