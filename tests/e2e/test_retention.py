"""The retention command archives, then deletes, conversations idle longer than the age, on the
project's tracker store over real SQLite and this machine's PostgreSQL: nothing deleted that is
not archived first, nothing archived twice, however a run was interrupted."""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine

from common.environment import PROJECT_ROOT, process_environment
from common.tracker_store import StrictSQLTrackerStore
from tests.e2e.production_services import (
    POSTGRES_ADMIN_DSN,
    fresh_postgres_database,
    require_servers,
)
from tooling import retention
from tooling.retention import StoredConversation, read_archive, run_retention

pytestmark = pytest.mark.e2e

POSTGRES_DATABASE = "fincs_retention_test"
DAY = 86_400.0
NOW = time.time()
CUTOFF = NOW - 90 * DAY
# Idle for 100 days, or active yesterday; "came-back" opened a session a year ago and wrote
# again yesterday, so its latest event is recent and it is kept whole.
OLD = ("customer:C0000001", "customer:C0000002", "customer:C0000003")
RECENT = ("customer:C0000004", "customer:C0000005")
CAME_BACK = "customer:C0000006"


def conversation_events(start: float) -> list[Event]:
    # As the channels store a message: the card number already masked (channels/redaction.py).
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start + 0.001),
        SlotSet("customer_name", "Li Wei", timestamp=start + 0.002),
        ActionExecuted("action_listen", timestamp=start + 0.003),
        UserUttered("my card [card ending 1111] was declined", timestamp=start + 1),
        ActionExecuted("action_run_operation", timestamp=start + 2),
        BotUttered("I can't see any declined payments.", timestamp=start + 2.1),
        ActionExecuted("action_listen", timestamp=start + 2.2),
    ]


def fill(store: StrictSQLTrackerStore) -> None:
    trackers = {sender: conversation_events(NOW - 100 * DAY) for sender in OLD}
    trackers |= {sender: conversation_events(NOW - DAY) for sender in RECENT}
    trackers[CAME_BACK] = conversation_events(NOW - 365 * DAY) + conversation_events(NOW - DAY)
    for sender, events in trackers.items():
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))


def stored(engine: Engine) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Every stored event by conversation: its row id and its data as stored."""
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    with engine.connect() as connection:
        for row in connection.exec_driver_sql(
            "SELECT sender_id, id, data FROM events ORDER BY sender_id, id"
        ):
            rows.setdefault(row.sender_id, []).append((row.id, json.loads(row.data)))
    return rows


def archived(directory: Path) -> list[StoredConversation]:
    return [
        conversation
        for path in sorted(directory.glob("*.jsonl.gz"))
        for conversation in read_archive(path)
    ]


def as_stored(conversation: StoredConversation) -> list[tuple[int, dict[str, Any]]]:
    return list(zip(conversation.event_ids, conversation.events, strict=True))


def drop_postgres_database() -> None:
    connection = psycopg2.connect(POSTGRES_ADMIN_DSN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)')
    connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    require_servers("postgres")
    yield fresh_postgres_database(POSTGRES_DATABASE)
    drop_postgres_database()


@pytest.fixture
def store(store_url: str) -> Iterator[StrictSQLTrackerStore]:
    store = StrictSQLTrackerStore(domain=Domain.empty(), host=store_url)
    fill(store)
    yield store
    store.engine.dispose()


def test_old_conversations_are_archived_as_stored_then_deleted_and_recent_ones_kept(
    store: StrictSQLTrackerStore, tmp_path: Path
):
    before = stored(store.engine)

    counts = run_retention(store.engine, CUTOFF, tmp_path / "archive", batch_size=2)

    after = stored(store.engine)
    assert sorted(after) == sorted([*RECENT, CAME_BACK])
    assert after == {sender: before[sender] for sender in after}
    lines = archived(tmp_path / "archive")
    assert [line.sender_id for line in lines] == list(OLD)
    assert {line.sender_id: as_stored(line) for line in lines} == {
        sender: before[sender] for sender in OLD
    }
    # Batches of two: two files, no file left pending or partial.
    assert len(counts.files) == 2
    assert sorted(path.name for path in (tmp_path / "archive").iterdir()) == sorted(
        path.name for path in counts.files
    )
    assert all(path.stat().st_mode & 0o077 == 0 for path in counts.files)
    assert (counts.old_conversations, counts.archived, counts.deleted_conversations) == (3, 3, 3)
    assert counts.deleted_events == sum(len(before[sender]) for sender in OLD)
    # The store still serves the kept conversations.
    kept = asyncio.run(store.retrieve(RECENT[0]))
    assert kept is not None and kept.latest_message.text.startswith("my card")


def test_a_dry_run_counts_and_changes_nothing(store: StrictSQLTrackerStore, tmp_path: Path):
    before = stored(store.engine)

    counts = run_retention(store.engine, CUTOFF, tmp_path / "archive", dry_run=True)

    assert stored(store.engine) == before
    assert not (tmp_path / "archive").exists()
    assert (counts.old_conversations, counts.old_events) == (
        3,
        sum(len(before[sender]) for sender in OLD),
    )
    assert counts.archived == counts.deleted_events == 0


class SimulatedCrash(RuntimeError):
    pass


def stop(*_: Any, **__: Any) -> None:
    raise SimulatedCrash("the run stopped here")


# Where the first run stops: the step replaced by a crash, and what the next run then finds.
STOPPED_AT = {
    # The batch's file is complete and pending; its rows are all still stored.
    "before the delete": ("delete_archived", {"finished": 2, "deleted": 3}),
    # The delete committed; the file still has its pending name.
    "after the delete, before the file's final name": ("_settle", {"finished": 0, "deleted": 1}),
}


@pytest.mark.parametrize("stopped", list(STOPPED_AT))
def test_a_run_stopped_between_archive_and_delete_is_finished_by_the_next_without_loss_or_double(
    store: StrictSQLTrackerStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped: str
):
    step, expected = STOPPED_AT[stopped]
    before = stored(store.engine)
    archive = tmp_path / "archive"
    monkeypatch.setattr(retention, step, stop)
    with pytest.raises(SimulatedCrash):
        run_retention(store.engine, CUTOFF, archive, batch_size=2)
    monkeypatch.undo()
    pending = list(archive.glob("*.pending"))
    assert len(pending) == 1
    in_pending = [conversation.sender_id for conversation in read_archive(pending[0])]
    assert in_pending == list(OLD[:2])
    still_stored = set(before) if step == "delete_archived" else set(before) - set(in_pending)
    assert set(stored(store.engine)) == still_stored

    counts = run_retention(store.engine, CUTOFF, archive, batch_size=2)

    assert sorted(stored(store.engine)) == sorted([*RECENT, CAME_BACK])
    lines = archived(archive)
    assert sorted(line.sender_id for line in lines) == sorted(OLD)
    assert {line.sender_id: as_stored(line) for line in lines} == {
        sender: before[sender] for sender in OLD
    }
    assert not list(archive.glob("*.pending")) and not list(archive.glob("*.partial"))
    assert counts.finished_from_earlier_run == expected["finished"]
    assert counts.deleted_conversations == expected["deleted"]


def test_the_command_uses_the_configured_store_and_prints_its_counts(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    fill(StrictSQLTrackerStore(domain=Domain.empty(), host=url))
    command = [sys.executable, "-m", "tooling.retention", "--older-than", "90d"]
    environment = process_environment("embedded", TRACKER_STORE_URL=url)

    started = time.time()
    dry = subprocess.run(
        [*command, "--dry-run"], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True
    )
    real = subprocess.run(
        [*command, "--archive", str(tmp_path / "archive")],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "conversations idle longer than the age: 3 (24 events)" in dry.stdout
    assert real.returncode == 0, real.stderr[-2000:]
    assert "deleted: 3 conversations, 24 events" in real.stdout
    assert len(archived(tmp_path / "archive")) == 3
    # The command's cutoff is 90 days before it ran, which may be either side of midnight.
    cutoff_days = {
        f"{datetime.datetime.fromtimestamp(moment - 90 * DAY, datetime.timezone.utc):%Y-%m-%d}"
        for moment in (started, time.time())
    }
    assert any(day in real.stdout for day in cutoff_days), (cutoff_days, real.stdout)
