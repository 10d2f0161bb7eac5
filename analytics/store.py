"""The analytics database: the stored events, the sessions made of them, the customers' own
messages, and how far each broker has been read. SQLAlchemy Core on SQLite (the embedded
profile's file) or PostgreSQL; the tables are created at start, and a database made by another
version of the code is made again from what it holds (``upgrade``): everything in it is derived
from Rasa's events, so an upgrade needs no step from the operator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine

from common import event_stream
from common.event_stream import checkpoint_table
from common.store_checks import sync_sql_url

logger = logging.getLogger(__name__)

# The version of the tables below: bump it whenever a table changes (a column added, removed,
# renamed or retyped, a table added). At start a database of another version has its sessions
# and messages made again from the stored events.
SCHEMA_VERSION = 3
# Bump this one too when analytics_events or analytics_checkpoints change, or how an event is
# masked or keyed (analytics.masking): the stored events cannot be kept then, every table is
# made again and the broker read again from its start.
EVENTS_VERSION = 1
TABLES_PART = "tables"
EVENTS_PART = "events"

metadata = MetaData()

events = Table(
    "analytics_events",
    metadata,
    # Arrival order: ties between events of the same timestamp keep the order Rasa sent them.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type", String(64), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("data", JSON, nullable=False),
)

sessions = Table(
    "analytics_sessions",
    metadata,
    Column("session_id", String(320), primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("customer_id", String(64), index=True),
    Column("channel", String(64)),
    Column("started_at", DateTime, nullable=False, index=True),
    # Rasa's timestamp of the session's first event: where a later remake reads from.
    Column("first_event_timestamp", Float, nullable=False),
    Column("ended_at", DateTime, nullable=False),
    # Over: a later session of the sender exists, or the sender has been silent long enough.
    Column("closed", Boolean, nullable=False),
    Column("line", String(64)),
    Column("first_intent", String(128)),
    Column("intents", JSON, nullable=False),
    Column("resolved", Boolean, nullable=False),
    Column("resolved_request", String(255)),
    Column("escalated", Boolean, nullable=False),
    Column("escalation_reason", String(64)),
    Column("abandoned", Boolean, nullable=False),
    Column("abandoned_at", String(255)),
    Column("fallbacks", Integer, nullable=False),
    Column("clarifications", Integer, nullable=False),
    Column("out_of_scope", Integer, nullable=False),
    Column("user_messages", Integer, nullable=False),
    Column("bot_messages", Integer, nullable=False),
    Column("time_to_resolution_seconds", Float),
    Column("handoff_wait_seconds", Float),
    Column("handoff_handling_seconds", Float),
    Column("rating", Integer),
    Column("rating_comment", Text),
    Column("rating_asked", Boolean, nullable=False),
    # The chat opened with the questions the customer most likely came with, as buttons; and
    # the customer's first message after them was one of those buttons.
    Column("offered", Boolean, nullable=False, default=False),
    Column("offer_taken", Boolean, nullable=False, default=False),
)

messages = Table(
    "analytics_messages",
    metadata,
    # The key of the event the message came in.
    Column("key", String(64), primary_key=True),
    Column("session_id", String(320), nullable=False, index=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("timestamp", DateTime, nullable=False, index=True),
    Column("channel", String(64)),
    Column("line", String(64)),
    Column("intent", String(128)),
    # fallback, out_of_scope, abandoned, handoff or understood
    Column("outcome", String(32), nullable=False),
    Column("text", Text, nullable=False),
)

# How far each broker has been read: its kind and masked address, and the position.
checkpoints = checkpoint_table(metadata, "analytics_checkpoints")

schema_versions = Table(
    "analytics_schema",
    metadata,
    # TABLES_PART: SCHEMA_VERSION of the tables; EVENTS_PART: EVENTS_VERSION of the stored events.
    Column("part", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
)

DERIVED_TABLES = (sessions, messages)
# What a database made before versions were kept is taken to be.
UNVERSIONED = 1

RemakeSessions = Callable[[Connection], None]


def open_store(url: str, *, remake_sessions: RemakeSessions | None = None) -> Engine:
    """The engine of the analytics database at ``url``, its tables created if missing and made
    current if another version of the code made them (``upgrade``)."""
    engine = connect(url)
    upgrade(engine, remake_sessions)
    return engine


def connect(url: str) -> Engine:
    """The engine of the analytics database at ``url``, its tables as they are."""
    sync_url = sync_sql_url(url)
    options: dict[str, Any] = {"future": True}
    if sync_url.get_backend_name() == "sqlite":
        if sync_url.database and sync_url.database != ":memory:":
            Path(sync_url.database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}
    else:
        options.update(pool_pre_ping=True)
    engine = create_engine(sync_url, **options)
    if sync_url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_wal)
    return engine


def upgrade(engine: Engine, remake_sessions: RemakeSessions | None = None) -> None:
    """Creates the missing tables; in a database of another version (or of none, made before
    versions were kept) drops the sessions and messages and makes them again with
    ``remake_sessions`` from the stored events, or, when the stored events cannot be kept
    either, drops every table: the broker's checkpoint is gone with them, so the broker is read
    again from its start, and as every event is stored once under its key nothing counts twice.

    The versions are written last: a start stopped half-way does it all again. A reader that
    cannot make sessions (no ``remake_sessions``) leaves the sessions empty and the versions
    as they were, for the service's next start to finish."""
    with engine.begin() as connection:
        found = set(inspect(connection).get_table_names())
        if not found & {table.name for table in metadata.sorted_tables}:
            metadata.create_all(connection)
            _write_versions(connection)
            return
        stored = _stored_versions(connection) if schema_versions.name in found else {}
        tables_version = stored.get(TABLES_PART, UNVERSIONED)
        keep_events = _events_reusable(connection, found, stored)
        if tables_version == SCHEMA_VERSION and keep_events:
            metadata.create_all(connection)
            return
        dropped = DERIVED_TABLES if keep_events else metadata.sorted_tables
        metadata.drop_all(connection, tables=list(dropped), checkfirst=True)
        metadata.create_all(connection)
        if keep_events:
            stored_events = connection.execute(select(func.count()).select_from(events)).scalar()
            if remake_sessions is None:
                logger.warning(
                    "analytics tables of version %s (this code: %s): sessions and messages "
                    "dropped; the service makes them again from the %s stored events at its "
                    "next start",
                    tables_version,
                    SCHEMA_VERSION,
                    stored_events,
                )
                return
            remake_sessions(connection)
            logger.warning(
                "analytics tables of version %s (this code: %s): sessions and messages made "
                "again from the %s stored events",
                tables_version,
                SCHEMA_VERSION,
                stored_events,
            )
        else:
            logger.warning(
                "analytics tables of version %s, stored events of version %s (this code: %s "
                "and %s): every table made again and the event broker read again from its "
                "start (a RabbitMQ queue gives again only the events it still holds)",
                tables_version,
                stored.get(EVENTS_PART, "unknown"),
                SCHEMA_VERSION,
                EVENTS_VERSION,
            )
        _write_versions(connection)


def _stored_versions(connection: Connection) -> dict[str, int]:
    return {row.part: int(row.version) for row in connection.execute(schema_versions.select())}


def _events_reusable(connection: Connection, found: set[str], stored: dict[str, int]) -> bool:
    """Whether the stored events (and the broker's checkpoints) can be kept as they are."""
    if EVENTS_PART in stored:
        return stored[EVENTS_PART] == EVENTS_VERSION
    # Made before versions were kept: kept if their tables have the columns this code reads.
    inspector = inspect(connection)
    for table in (events, checkpoints):
        if table.name not in found:
            return False
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        if columns != set(table.columns.keys()):
            return False
    return True


def _write_versions(connection: Connection) -> None:
    connection.execute(schema_versions.delete())
    connection.execute(
        schema_versions.insert(),
        [
            {"part": TABLES_PART, "version": SCHEMA_VERSION},
            {"part": EVENTS_PART, "version": EVENTS_VERSION},
        ],
    )


def _sqlite_wal(dbapi_connection: Any, _: Any) -> None:
    # The API reads while the consumer writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def checkpoint(connection: Connection, source: str) -> int:
    """The last broker position stored for ``source`` (0: nothing read yet)."""
    return event_stream.checkpoint(connection, checkpoints, source)


def save_checkpoint(connection: Connection, source: str, position: int) -> None:
    event_stream.save_checkpoint(connection, checkpoints, source, position)
