"""The analytics database: the stored events, the sessions made of them, the customers' own
messages, and how far each broker has been read. SQLAlchemy Core on SQLite (the embedded
profile's file) or PostgreSQL; the tables are created at start."""

from __future__ import annotations

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
)
from sqlalchemy.engine import Connection, Engine

from common.store_checks import sync_sql_url

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

checkpoints = Table(
    "analytics_checkpoints",
    metadata,
    # The broker read: its kind and masked address.
    Column("source", String(512), primary_key=True),
    Column("position", Integer, nullable=False),
)


def open_store(url: str) -> Engine:
    """The engine of the analytics database at ``url``, its tables created if missing."""
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
    metadata.create_all(engine)
    return engine


def _sqlite_wal(dbapi_connection: Any, _: Any) -> None:
    # The API reads while the consumer writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def checkpoint(connection: Connection, source: str) -> int:
    """The last broker position stored for ``source`` (0: nothing read yet)."""
    found = connection.execute(checkpoints.select().where(checkpoints.c.source == source)).first()
    return int(found.position) if found else 0


def save_checkpoint(connection: Connection, source: str, position: int) -> None:
    updated = connection.execute(
        checkpoints.update().where(checkpoints.c.source == source).values(position=position)
    )
    if not updated.rowcount:
        connection.execute(checkpoints.insert().values(source=source, position=position))
