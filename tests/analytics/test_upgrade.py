"""A database an earlier version of the service made is made current when the service starts,
with no step from the operator: its sessions are made again from the stored events (or, when
the stored events' own table changed, the broker is read again from its start), the supervisors
then get the same figures as from a database fed the same events from scratch, nothing counts
twice, and a database already current is left as it is. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Column, MetaData, Table, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from analytics import store
from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines, open_service_store
from analytics.kpis import KpiFilters, compute_kpis
from tests.analytics.conversations import at, publish
from tests.analytics.test_kpis import conversations
from tests.e2e.production_services import (
    POSTGRES_ADMIN_DSN,
    fresh_postgres_database,
    require_servers,
)

IDLE_SECONDS = 30 * 60
NOW = at("2026-12-01 00:00")
# The column the lead's deployment lacked: every /kpis call failed on it.
ADDED_COLUMN = "first_event_timestamp"
# A column the stored events' table of the older layout lacks: those events cannot be kept.
EVENT_COLUMN_ADDED = "type"

Databases = Callable[[str], str]


@pytest.fixture(scope="module")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Rasa's SQL event broker holding the conversations of the KPI tests."""
    path = tmp_path_factory.mktemp("broker") / "events.db"
    publish(path, conversations())
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Makes empty analytics databases of the backend by name (dropped after the test)."""
    made: list[str] = []

    def database(name: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        made.append(f"fincs_analytics_upgrade_{name}")
        return fresh_postgres_database(made[-1])

    if request.param == "postgresql":
        require_servers("postgres")
    yield database
    if made:
        connection = psycopg2.connect(POSTGRES_ADMIN_DSN)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in made:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


def read_broker(engine: Engine, broker_url: str) -> int:
    """The broker read to its end as the service reads it; returns how many rows were read."""
    ingestor = Ingestor(engine, catalogue_lines(), idle_seconds=IDLE_SECONDS, clock=lambda: NOW)
    reader = SqlBrokerReader(broker_url, ingestor, batch_size=40)
    read = 0
    while batch := reader.read_once():
        read += batch
    reader.close()
    return read


def start_service(url: str) -> Engine:
    """The analytics database as the service opens it at start."""
    return open_service_store(url, catalogue_lines(), idle_seconds=IDLE_SECONDS, clock=lambda: NOW)


def fed_from_scratch(url: str, broker_url: str) -> Engine:
    engine = start_service(url)
    read_broker(engine, broker_url)
    return engine


def figures(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        return compute_kpis(connection, KpiFilters())


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar())


def position(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.max(store.checkpoints.c.position))).scalar() or 0)


def made_by_older_version(url: str, source: Engine, *, events_changed: bool = False) -> None:
    """The tables as the version before SCHEMA_VERSION 2 made them (no version kept, sessions
    without ADDED_COLUMN; with ``events_changed`` its events table lacked EVENT_COLUMN_ADDED
    too), holding what ``source`` holds: its events, its sessions and messages, its checkpoint."""
    older = MetaData()
    for table in store.metadata.sorted_tables:
        if table is store.schema_versions:
            continue
        dropped = {ADDED_COLUMN} if table is store.sessions else set()
        if events_changed and table is store.events:
            dropped = {EVENT_COLUMN_ADDED}
        Table(
            table.name,
            older,
            *(
                Column(
                    column.name,
                    column.type,
                    primary_key=column.primary_key,
                    nullable=column.nullable,
                )
                for column in table.columns
                if column.name not in dropped
            ),
        )
    engine = store.connect(url)
    try:
        older.create_all(engine)
        with source.connect() as reading, engine.begin() as writing:
            for table in older.sorted_tables:
                rows = [dict(row._mapping) for row in reading.execute(select(table.columns))]
                if rows:
                    writing.execute(table.insert(), rows)
    finally:
        engine.dispose()


def test_an_older_database_gets_its_sessions_made_again_from_its_events(
    databases: Databases, broker_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    fresh = fed_from_scratch(databases("fresh"), broker_url)
    expected, events, checkpoint = figures(fresh), count(fresh, store.events), position(fresh)
    older_url = databases("older")
    made_by_older_version(older_url, fresh)
    fresh.dispose()
    assert expected["sessions"] == 8
    # What the supervisors got from such a database: every call for the figures failed.
    before = store.connect(older_url)
    with pytest.raises(DBAPIError, match=ADDED_COLUMN):
        figures(before)
    before.dispose()

    with caplog.at_level(logging.INFO, logger="analytics.store"):
        upgraded = start_service(older_url)
    try:
        assert [record.getMessage() for record in caplog.records] == [
            f"analytics tables of version 1 (this code: {store.SCHEMA_VERSION}): sessions and "
            f"messages made again from the {events} stored events"
        ]
        assert figures(upgraded) == expected
        # Nothing read again and nothing counted twice, even when the broker is replayed.
        assert read_broker(upgraded, broker_url) == 0
        assert (count(upgraded, store.events), position(upgraded)) == (events, checkpoint)
        with upgraded.begin() as connection:
            connection.execute(update(store.checkpoints).values(position=0))
        assert read_broker(upgraded, broker_url) == checkpoint
        assert count(upgraded, store.events) == events
        assert figures(upgraded) == expected
    finally:
        upgraded.dispose()


def test_an_older_events_table_means_the_broker_is_read_again_from_its_start(
    databases: Databases, broker_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    fresh = fed_from_scratch(databases("fresh"), broker_url)
    expected, events, checkpoint = figures(fresh), count(fresh, store.events), position(fresh)
    older_url = databases("older")
    made_by_older_version(older_url, fresh, events_changed=True)
    fresh.dispose()

    with caplog.at_level(logging.INFO, logger="analytics.store"):
        upgraded = start_service(older_url)
    try:
        (line,) = [record.getMessage() for record in caplog.records]
        assert "every table made again and the event broker read again from its start" in line
        assert "RabbitMQ queue gives again only the events it still holds" in line
        assert (count(upgraded, store.events), position(upgraded)) == (0, 0)
        assert read_broker(upgraded, broker_url) == checkpoint
        assert count(upgraded, store.events) == events
        assert figures(upgraded) == expected
    finally:
        upgraded.dispose()


def test_a_current_database_is_left_as_it_is(
    databases: Databases, broker_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = databases("current")
    engine = fed_from_scratch(url, broker_url)
    # A mark no remake would keep: the sessions are not made again.
    with engine.begin() as connection:
        connection.execute(update(store.sessions).values(rating_comment="kept"))
    events, checkpoint = count(engine, store.events), position(engine)
    engine.dispose()

    with caplog.at_level(logging.INFO, logger="analytics.store"):
        restarted = start_service(url)
    try:
        assert caplog.records == []
        with restarted.connect() as connection:
            comments = set(connection.execute(select(store.sessions.c.rating_comment)).scalars())
        assert comments == {"kept"}
        assert (count(restarted, store.events), position(restarted)) == (events, checkpoint)
        assert read_broker(restarted, broker_url) == 0
    finally:
        restarted.dispose()


def test_a_reader_of_an_older_database_leaves_the_sessions_to_the_service(
    databases: Databases, broker_url: str
) -> None:
    fresh = fed_from_scratch(databases("fresh"), broker_url)
    expected = figures(fresh)
    older_url = databases("older")
    made_by_older_version(older_url, fresh)
    fresh.dispose()

    # The static report opens the store without making sessions: no error, no figures yet.
    reader = store.open_store(older_url)
    try:
        assert figures(reader)["sessions"] == 0
    finally:
        reader.dispose()
    upgraded = start_service(older_url)
    try:
        assert figures(upgraded) == expected
    finally:
        upgraded.dispose()
