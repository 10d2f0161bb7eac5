"""Archives, then deletes, the tracker store's conversations idle longer than a set age.

    .venv/bin/python -m tooling.retention --older-than 90d [--archive DIR] [--dry-run]
        [--batch-size N]

The store is the one the Rasa server uses: TRACKER_STORE_URL from the profile and the
environment (common/environment.py), as scripts/run reads it. A conversation is old when its
latest event is older than the age (``90d``, ``12h``, ``2w``). Old conversations go, in batches,
to gzip-compressed JSON-lines files in DIR (default .data/tracker-archive), one line per
conversation: its sender id, its events as the store holds them (already masked by the channels,
channels/redaction.py; nothing else is added) and those events' row ids. Only then are exactly
those rows deleted, in one transaction per batch.

A batch's file goes through three names, so a run stopped anywhere can be run again:
``<name>.partial`` while written (incomplete: deleted at the next run, nothing of it was deleted
from the store), ``<name>.pending`` once complete and flushed to disk (its rows may still be in
the store), ``<name>`` once they are deleted. A run first finishes every pending file: it deletes
the rows the file lists that are still there, and nothing else. A conversation written to again
while its batch was archived (a customer back after months) is left alone, so nothing is
deleted that is not in an archive.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import Connection, Engine

from common.environment import PROJECT_ROOT, process_environment
from common.store_checks import (
    IN_MEMORY,
    SQL_TRACKER_STORES,
    StoreSettings,
    masked_url,
    sync_sql_url,
)
from common.tracker_store import TrackerStoreSettings, tracker_engine

DEFAULT_ARCHIVE_DIR = PROJECT_ROOT / ".data" / "tracker-archive"
DEFAULT_BATCH_SIZE = 200
ARCHIVE_SUFFIX = ".jsonl.gz"
PARTIAL = ".partial"
PENDING = ".pending"
ARCHIVE_DIR_MODE = 0o700
ARCHIVE_FILE_MODE = 0o600
# Row ids per DELETE statement: well under SQLite's limit on bound parameters.
IDS_PER_STATEMENT = 500
AGE_UNITS = {
    "w": datetime.timedelta(weeks=1),
    "d": datetime.timedelta(days=1),
    "h": datetime.timedelta(hours=1),
}
EVENTS = SQLTrackerStore.SQLEvent.__table__


class RetentionError(RuntimeError):
    """The store did not hold what the archive says; the batch's transaction was rolled back."""


@dataclass(frozen=True)
class StoredConversation:
    sender_id: str
    event_ids: list[int]
    events: list[dict[str, Any]]

    def archive_line(self) -> str:
        line = {"sender_id": self.sender_id, "event_ids": self.event_ids, "events": self.events}
        return json.dumps(line, ensure_ascii=False)

    @classmethod
    def from_archive_line(cls, line: str) -> StoredConversation:
        record = json.loads(line)
        return cls(record["sender_id"], record["event_ids"], record["events"])


@dataclass
class RetentionCounts:
    old_conversations: int = 0
    old_events: int = 0
    archived: int = 0
    deleted_conversations: int = 0
    deleted_events: int = 0
    kept_active_again: int = 0
    finished_from_earlier_run: int = 0
    unfinished_files: int = 0
    files: list[Path] = field(default_factory=list)

    def lines(self, dry_run: bool) -> list[str]:
        if dry_run:
            return [
                f"conversations idle longer than the age: {self.old_conversations} "
                f"({self.old_events} events)",
                f"archive files of an interrupted run to finish: {self.unfinished_files}",
                "dry run: nothing archived or deleted",
            ]
        return [
            f"conversations idle longer than the age: {self.old_conversations}",
            f"archived: {self.archived} in {len(self.files)} file(s)",
            f"deleted: {self.deleted_conversations} conversations, {self.deleted_events} events",
            f"kept (written to while being archived): {self.kept_active_again}",
            f"finished from an earlier, interrupted run: {self.finished_from_earlier_run} "
            "conversations",
        ]


def parse_age(text: str) -> datetime.timedelta:
    """``90d``, ``12h``, ``2w``: a whole number and its unit."""
    match = re.fullmatch(r"\s*(\d+)\s*([wdh])\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 90d, 12h or 2w")
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


# --- Reading the store -----------------------------------------------------------------------


def old_conversation_ids(connection: Connection, cutoff: float) -> list[str]:
    """The conversations whose latest event is older than ``cutoff`` (a Unix time)."""
    latest = sa.func.max(EVENTS.c.timestamp)
    query = (
        sa.select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(latest < cutoff)
        .order_by(EVENTS.c.sender_id)
    )
    return list(connection.execute(query).scalars())


def read_conversations(
    connection: Connection, sender_ids: Sequence[str], cutoff: float
) -> tuple[list[StoredConversation], int]:
    """The conversations' events as stored, and how many were written to since they were
    picked (those are left out: they are no longer old)."""
    query = (
        sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.data)
        .where(EVENTS.c.sender_id.in_(sender_ids))
        .order_by(EVENTS.c.sender_id, EVENTS.c.id)
    )
    rows_by_sender: dict[str, list[Any]] = {sender_id: [] for sender_id in sender_ids}
    for row in connection.execute(query):
        rows_by_sender[row.sender_id].append(row)
    conversations = []
    active_again = 0
    for sender_id, rows in rows_by_sender.items():
        if not rows:
            continue  # deleted since it was picked (another run)
        if max(row.timestamp or 0.0 for row in rows) >= cutoff:
            active_again += 1
            continue
        conversations.append(
            StoredConversation(
                sender_id, [row.id for row in rows], [json.loads(row.data) for row in rows]
            )
        )
    return conversations, active_again


def count_events(connection: Connection, sender_ids: Sequence[str]) -> int:
    query = sa.select(sa.func.count()).where(EVENTS.c.sender_id.in_(sender_ids))
    return connection.execute(query).scalar_one()


# --- The archive files -------------------------------------------------------------------------


def write_archive(path: Path, conversations: Sequence[StoredConversation]) -> Path:
    """Writes the batch to ``path`` + .partial, flushes it to disk, then renames it to
    ``path`` + .pending: a pending file is always complete."""
    partial = path.with_name(path.name + PARTIAL)
    # Readable by the operator only: customers' conversations, like the store itself.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, ARCHIVE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as compressed:
        for conversation in conversations:
            compressed.write(conversation.archive_line().encode() + b"\n")
        compressed.flush()
    _fsync(partial)
    pending = path.with_name(path.name + PENDING)
    os.replace(partial, pending)
    _fsync(path.parent)
    return pending


def read_archive(path: Path) -> list[StoredConversation]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [StoredConversation.from_archive_line(line) for line in lines if line.strip()]


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _settle(pending: Path) -> Path:
    """The pending file's rows are deleted: it takes its final name."""
    final = pending.with_name(pending.name.removesuffix(PENDING))
    os.replace(pending, final)
    _fsync(final.parent)
    return final


# --- Deleting ----------------------------------------------------------------------------------


def delete_archived(
    engine: Engine, conversations: Sequence[StoredConversation], *, already_deleted_ok: bool
) -> tuple[int, int]:
    """Deletes exactly the archived rows, in one transaction; returns how many conversations
    and events went.

    Each conversation's rows are all still there or (finishing an earlier run's batch, whose
    transaction may have committed) all gone; anything else rolls the batch back."""
    deleted_conversations = deleted_events = 0
    with engine.begin() as connection:
        for conversation in conversations:
            removed = sum(
                connection.execute(
                    EVENTS.delete().where(
                        EVENTS.c.sender_id == conversation.sender_id, EVENTS.c.id.in_(ids)
                    )
                ).rowcount
                for ids in _chunks(conversation.event_ids, IDS_PER_STATEMENT)
            )
            expected = {len(conversation.event_ids)} | ({0} if already_deleted_ok else set())
            if removed not in expected:
                raise RetentionError(
                    f"{conversation.sender_id}: {removed} of its {len(conversation.event_ids)} "
                    "archived events were in the store; nothing of this batch was deleted"
                )
            deleted_events += removed
            deleted_conversations += 1 if removed else 0
    return deleted_conversations, deleted_events


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- The run -----------------------------------------------------------------------------------


def finish_pending(engine: Engine, archive_dir: Path, counts: RetentionCounts) -> None:
    """Completes an interrupted run: a partial file never led to a delete and goes; a pending
    file's rows still in the store are deleted, and it takes its final name."""
    for partial in sorted(archive_dir.glob(f"*{ARCHIVE_SUFFIX}{PARTIAL}")):
        partial.unlink()
    for pending in sorted(archive_dir.glob(f"*{ARCHIVE_SUFFIX}{PENDING}")):
        conversations, events = delete_archived(
            engine, read_archive(pending), already_deleted_ok=True
        )
        counts.finished_from_earlier_run += conversations
        counts.deleted_conversations += conversations
        counts.deleted_events += events
        counts.files.append(_settle(pending))


def run_retention(
    engine: Engine,
    cutoff: float,
    archive_dir: Path,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RetentionCounts:
    """Archives then deletes the conversations whose latest event is older than ``cutoff``."""
    counts = RetentionCounts()
    if not sa.inspect(engine).has_table(EVENTS.name):
        return counts  # nothing was ever stored
    if dry_run:
        counts.unfinished_files = len(list(archive_dir.glob(f"*{ARCHIVE_SUFFIX}{PENDING}")))
        with engine.connect() as connection:
            old_ids = old_conversation_ids(connection, cutoff)
            counts.old_conversations = len(old_ids)
            counts.old_events = sum(
                count_events(connection, batch) for batch in _chunks(old_ids, batch_size)
            )
        return counts
    archive_dir.mkdir(mode=ARCHIVE_DIR_MODE, parents=True, exist_ok=True)
    # First what an interrupted run archived, so none of it is archived twice.
    finish_pending(engine, archive_dir, counts)
    with engine.connect() as connection:
        old_ids = old_conversation_ids(connection, cutoff)
    counts.old_conversations = len(old_ids)
    # Unique per run: a later run never overwrites an earlier one's files.
    run_name = f"tracker-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    for number, batch in enumerate(_chunks(old_ids, batch_size), start=1):
        with engine.connect() as connection:
            conversations, active_again = read_conversations(connection, batch, cutoff)
        counts.kept_active_again += active_again
        if not conversations:
            continue
        path = archive_dir / f"{run_name}-{number:05d}{ARCHIVE_SUFFIX}"
        pending = write_archive(path, conversations)
        counts.archived += len(conversations)
        deleted_conversations, deleted_events = delete_archived(
            engine, conversations, already_deleted_ok=False
        )
        counts.deleted_conversations += deleted_conversations
        counts.deleted_events += deleted_events
        counts.files.append(_settle(pending))
    return counts


def configured_store_url(environment: dict[str, str]) -> str:
    """The Rasa server's tracker store URL; an SQLite path is the server's, from the project."""
    settings = StoreSettings.from_environment(environment)
    if settings.tracker_store_type == IN_MEMORY:
        raise SystemExit("The tracker store is in memory (TRACKER_STORE_TYPE): nothing is stored.")
    if settings.tracker_store_type not in SQL_TRACKER_STORES or not settings.tracker_store_url:
        raise SystemExit("TRACKER_STORE_TYPE and TRACKER_STORE_URL name no SQL tracker store.")
    url = sync_sql_url(settings.tracker_store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        # The servers run from the project's directory, where a relative path starts.
        url = url.set(database=str(PROJECT_ROOT / url.database))
    return url.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--older-than", type=parse_age, required=True, help="e.g. 90d, 12h, 2w")
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE_DIR, help="directory")
    parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    arguments = parser.parse_args()
    environment = process_environment()
    url = configured_store_url(environment)
    engine = tracker_engine(url, TrackerStoreSettings.from_environment(environment))
    cutoff = time.time() - arguments.older_than.total_seconds()
    print(
        f"Tracker store {masked_url(url)}: conversations whose latest event is before "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(cutoff))}",
        flush=True,
    )
    try:
        counts = run_retention(
            engine,
            cutoff,
            arguments.archive,
            dry_run=arguments.dry_run,
            batch_size=arguments.batch_size,
        )
    finally:
        engine.dispose()
    for line in counts.lines(arguments.dry_run):
        print(f"  {line}")
    if counts.files:
        print(f"  archive: {arguments.archive}")


if __name__ == "__main__":
    main()
