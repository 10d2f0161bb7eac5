"""What an operator reads when a store is set up wrong, and the SQLite tracker store's speed
settings; no server needed (the stores are SQLite files)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from common import tracker_store
from common.environment import process_environment
from common.ports import free_port
from common.settings import SettingError
from common.store_checks import (
    PROJECT_LOCK_STORE,
    PROJECT_TRACKER_STORE,
    StoreSettings,
    StoreUnavailable,
    amqp_url,
    check_analytics_database,
    check_databases,
    check_stores_or_exit,
    masked_url,
)
from common.tracker_store import StrictSQLTrackerStore
from tests.e2e.production_services import POSTGRES_ADMIN_DSN, POSTGRES_HOST_URL, require_servers


def embedded_settings(tmp_path: Path, **overrides: str) -> StoreSettings:
    files = {
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "EVENT_BROKER_URL": f"sqlite:///{tmp_path / 'events.db'}",
        "DESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}",
        "SANDBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}",
    }
    environment = process_environment("embedded", **{**files, **overrides})
    return StoreSettings.from_environment(environment)


def test_a_password_never_reaches_the_message() -> None:
    assert (
        masked_url("postgresql://fincs:s3cr%40t@db.example.com:5432/fincs_tracker")
        == "postgresql://fincs:***@db.example.com:5432/fincs_tracker"
    )
    assert masked_url("redis://127.0.0.1:6379/1") == "redis://127.0.0.1:6379/1"
    error = StoreUnavailable.at("tracker store", "postgresql://u:hunter2@h/db", "refused")
    assert "hunter2" not in str(error) and "tracker store" in str(error)


def test_the_brokers_credentials_join_its_url_as_rasa_joins_them() -> None:
    joined = amqp_url("amqp://127.0.0.1:5672/fincs", "guest", "p@ss")
    assert joined == "amqp://guest:p%40ss@127.0.0.1:5672/fincs"
    assert amqp_url("amqp://me:pw@host/v", "guest", "guest") == "amqp://me:pw@host/v"


def test_the_embedded_profile_passes_its_checks(tmp_path: Path) -> None:
    report = check_databases(embedded_settings(tmp_path))
    assert [line.split(" (")[0].split(":")[0] for line in report] == [
        "tracker store",
        "lock store",
        "event broker",
        "desk database",
        "sandbox database",
    ]
    assert "in memory, as configured" in report[1]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"TRACKER_STORE_TYPE": ""}, "TRACKER_STORE_TYPE is unset"),
        ({"TRACKER_STORE_TYPE": "mongod"}, "TRACKER_STORE_TYPE is mongod"),
        ({"TRACKER_STORE_URL": ""}, "TRACKER_STORE_URL is not set"),
        ({"LOCK_STORE_TYPE": "memory"}, "LOCK_STORE_TYPE is memory"),
        ({"LOCK_STORE_TYPE": "redis"}, "LOCK_STORE_TYPE is redis: Rasa's own"),
        ({"EVENT_BROKER_TYPE": ""}, "EVENT_BROKER_TYPE is unset"),
    ],
)
def test_a_store_set_up_wrong_stops_the_start_naming_the_variable(
    tmp_path: Path, overrides: dict[str, str], named: str
) -> None:
    with pytest.raises(StoreUnavailable, match=named):
        check_databases(embedded_settings(tmp_path, **overrides))


def test_only_an_explicit_in_memory_tracker_store_is_kept_in_memory(tmp_path: Path) -> None:
    report = check_databases(embedded_settings(tmp_path, TRACKER_STORE_TYPE="in_memory"))
    assert "conversations are lost at every restart" in report[0]


def test_rasas_own_factory_raises_rather_than_keeping_chats_in_memory() -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/fincs_tracker"
    with pytest.raises(StoreUnavailable, match=r"^tracker store \(TRACKER_STORE_URL\)"):
        TrackerStore.create(EndpointConfig(type=PROJECT_TRACKER_STORE, url=unreachable))


def test_an_sqlite_file_that_cannot_be_opened_stops_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StoreUnavailable, match=r"^tracker store \(TRACKER_STORE_URL\)"):
        StrictSQLTrackerStore(host=f"sqlite:///{blocker / 'tracker.db'}")


def test_the_sqlite_tracker_store_runs_in_wal_mode_with_a_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_STORE_SQLITE_BUSY_TIMEOUT_MS", "1234")
    tracker_store.tracker_store_settings.cache_clear()
    try:
        store = TrackerStore.create(
            EndpointConfig(type=PROJECT_TRACKER_STORE, url=f"sqlite:///{tmp_path / 't.db'}")
        )
        assert isinstance(store, StrictSQLTrackerStore)
        with store.engine.connect() as connection:
            busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    finally:
        tracker_store.tracker_store_settings.cache_clear()
    assert busy_timeout == 1234
    # WAL is a property of the file: any other reader sees it.
    with sqlite3.connect(tmp_path / "t.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_reader_is_not_held_up_by_a_writer_in_the_middle_of_a_transaction(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = StrictSQLTrackerStore(host=url, domain=Domain.empty())
    tracker = DialogueStateTracker.from_events(
        "reader", [ActionExecuted("action_listen"), UserUttered("hello"), BotUttered("hi")]
    )
    asyncio.run(store.save(tracker))
    writer = sqlite3.connect(tmp_path / "t.db", timeout=0, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO events (sender_id, type_name) VALUES ('other', 'user')")
    try:
        # In SQLite's default rollback journal an exclusive writer locks every reader out
        # ("database is locked" once the busy timeout runs out); in WAL mode readers go on.
        read = asyncio.run(store.retrieve("reader"))
    finally:
        writer.rollback()
        writer.close()
    assert read is not None and read.latest_message.text == "hello"


def test_a_lock_prefix_rasa_would_drop_for_the_shared_default_stops_the_start(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingError, match="LOCK_STORE_KEY_PREFIX='fincs_test'"):
        embedded_settings(
            tmp_path, LOCK_STORE_TYPE=PROJECT_LOCK_STORE, LOCK_STORE_KEY_PREFIX="fincs_test"
        )

    embedded_settings(
        tmp_path, LOCK_STORE_TYPE=PROJECT_LOCK_STORE, LOCK_STORE_KEY_PREFIX="fincstest"
    )


def test_a_start_with_the_analytics_service_checks_its_database_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    analytics = f"sqlite:///{tmp_path / 'analytics' / 'analytics.db'}"
    check_stores_or_exit(embedded_settings(tmp_path), analytics_database_url=analytics)
    assert "analytics database (ANALYTICS_DATABASE_URL)" in capsys.readouterr().out
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(SystemExit, match=r"analytics database \(ANALYTICS_DATABASE_URL\)"):
        check_stores_or_exit(
            embedded_settings(tmp_path),
            analytics_database_url=f"sqlite:///{blocker / 'analytics.db'}",
        )


def _drop_postgres_database(name: str) -> None:
    connection = psycopg2.connect(POSTGRES_ADMIN_DSN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def test_the_analytics_database_is_created_on_postgresql() -> None:
    require_servers("postgres")
    name = "fincs_analytics_check_test"
    _drop_postgres_database(name)
    url = f"{POSTGRES_HOST_URL}/{name}"
    try:
        assert check_analytics_database(url).endswith(f"database {name!r} created")
        assert check_analytics_database(url).endswith("reached")
    finally:
        _drop_postgres_database(name)


def stores_started_together(database: str, servers: int) -> list[BaseException]:
    """What went wrong when ``servers`` tracker stores start at the same moment on ``database``."""
    server = sa.engine.make_url(POSTGRES_HOST_URL)
    barrier = threading.Barrier(servers)
    failures: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            StrictSQLTrackerStore(
                dialect="postgresql",
                host=server.host,
                port=server.port,
                db=database,
                username=server.username,
                password=server.password,
            ).engine.dispose()
        except BaseException as error:  # noqa: BLE001 - collected for the assert
            failures.append(error)

    starts = [threading.Thread(target=start) for _ in range(servers)]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join()
    return failures


def test_servers_starting_together_on_a_new_database_all_start() -> None:
    # The scale-out profile's two Rasa servers, or a deployment's pods, on a database nobody has
    # used: all create the tables and the index at once, and none may stop for it.
    require_servers("postgres")
    name = "fincs_tracker_race_test"
    try:
        for _ in range(5):
            _drop_postgres_database(name)
            assert stores_started_together(name, 4) == []
        with psycopg2.connect(f"{POSTGRES_HOST_URL}/{name}") as connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
                assert "ix_events_sender_id_type_name_timestamp" in {row[0] for row in cursor}
    finally:
        _drop_postgres_database(name)
