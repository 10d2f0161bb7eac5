"""The Rasa server's tracker store: Rasa's SQL tracker store that stops rather than forgets,
configured for speed.

endpoints.yml names it (``TRACKER_STORE_TYPE=common.tracker_store.StrictSQLTrackerStore``).
Rasa's own SQLTrackerStore logs "Could not create tables" when its database is missing or
unreachable and starts anyway; every save then fails and Rasa keeps the conversation in memory,
to be lost at the next restart. This store connects at start, creating a missing PostgreSQL
database (common/store_checks.py), and raises when the database cannot be used, which stops the
Rasa server's start (Sanic exits non-zero) however the server was started.

For speed: SQLite in WAL mode (readers do not wait for the writer) with a busy timeout, over a
pool of open connections rather than a new one per read; on PostgreSQL a pool sized by
TRACKER_STORE_POOL_SIZE and TRACKER_STORE_MAX_OVERFLOW, and an index for the query Rasa runs on
every read and save, all created idempotently at start. A save stores the new events, then
hands the same events to the event broker; Rasa's own save first reads the whole tracker again
only to find which events are new (14 ms a message in bench/results/profile.md), and its SQL
event broker commits each event on its own (9 commits, 29 ms a message): here the SQL broker
gets one transaction a save, over the same kind of pooled, WAL-mode engine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import (
    SQLTrackerStore,
    TrackerStore,
    create_engine_kwargs,
    validate_port,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from common.settings import Environment, EnvironmentSettings
from common.store_checks import StoreUnavailable, ensure_sql_database, masked_url

logger = logging.getLogger(__name__)
Result = TypeVar("Result")

STORE_NAME = "tracker store (TRACKER_STORE_URL)"
# A PostgreSQL restart cuts every connection and refuses new ones for a second or so. Rasa's
# fail-safe wrapper would keep a save that fails then in memory only (gone at the next
# restart, with the customer already answered) and take a failed read for a new conversation,
# so reads and saves are tried again over a few seconds before the error goes to Rasa.
RECONNECT_WAITS_SECONDS = (0.25, 0.5, 1.0, 2.0)
# Rasa's SQL calls run synchronously on the server's event loop, so one worker holds one
# connection at a time; a few spare ones cover the API and the channels' side reads. Rasa's own
# default (50 + 100 overflow per worker) would exhaust PostgreSQL's 100 connections with two
# servers.
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 5
# How long a writer waits for another process's write to finish before SQLite reports busy.
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000
# Every read and save looks up the conversation's latest session start (max(timestamp) of the
# sender's session_started events), answered from the first index alone, then takes the events
# from that moment on, a range of the second. Rasa itself indexes sender_id only, and asks for
# both in one query whose "or no session yet" the database cannot answer from an index: it went
# through every event the customer ever had, twice a message (read, and the count on save),
# 3.6 ms for a customer with 11,000 events against 0.03 ms (SQLite, this machine).
EVENT_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_events_sender_id_type_name_timestamp "
    "ON events (sender_id, type_name, timestamp)",
    "CREATE INDEX IF NOT EXISTS ix_events_sender_id_timestamp ON events (sender_id, timestamp)",
)
# Several servers starting at once on a new database race to create the tables and the index:
# PostgreSQL's IF NOT EXISTS does not hold between two transactions at once (the second fails
# on pg_class's unique key), so on PostgreSQL the creation waits for a transaction-level
# advisory lock; a second attempt covers a connection lost on the way.
SCHEMA_LOCK_KEY = 0x66696E6373  # "fincs"
SCHEMA_ATTEMPTS = 2


@dataclass(frozen=True)
class TrackerStoreSettings(EnvironmentSettings):
    pool_size: int
    max_overflow: int
    sqlite_busy_timeout_ms: int

    @classmethod
    def read(cls, env: Environment) -> TrackerStoreSettings:
        return cls(
            pool_size=env.integer("TRACKER_STORE_POOL_SIZE", DEFAULT_POOL_SIZE),
            max_overflow=env.integer("TRACKER_STORE_MAX_OVERFLOW", DEFAULT_MAX_OVERFLOW),
            sqlite_busy_timeout_ms=env.integer(
                "TRACKER_STORE_SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS
            ),
        )


@functools.cache
def tracker_store_settings() -> TrackerStoreSettings:
    """The tracker store's settings, read from the process's environment once."""
    return TrackerStoreSettings.from_environment()


class StrictSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore that refuses to start without a usable database."""

    def __init__(
        self,
        domain: Domain | None = None,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "rasa.db",
        username: str | None = None,
        password: str | None = None,
        event_broker: EventBroker | None = None,
        query: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Rasa's constructor would swallow the errors this one raises, so it is not called;
        # the attributes its methods use (engine, sessionmaker) are set here.
        address = self.get_db_url(
            dialect, host, validate_port(port), db, username, password, None, query
        )
        url = address.render_as_string(hide_password=False) if isinstance(address, URL) else address
        ensure_sql_database(STORE_NAME, url)
        self.engine = tracker_engine(url, tracker_store_settings())
        self._create_schema(url)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        if isinstance(event_broker, SQLEventBroker):
            pool_broker_connections(event_broker)
        TrackerStore.__init__(self, domain, event_broker, **kwargs)

    def _create_schema(self, url: str) -> None:
        for attempt in range(1, SCHEMA_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    if connection.dialect.name == "postgresql":
                        connection.execute(
                            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
                        )
                    self.Base.metadata.create_all(connection)
                    for index in EVENT_INDEXES:
                        connection.execute(sa.text(index))
                return
            except SQLAlchemyError as error:
                if attempt == SCHEMA_ATTEMPTS:
                    reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                    raise StoreUnavailable.at(STORE_NAME, url, reason) from error

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await self._through_reconnects(
            functools.partial(super()._retrieve, sender_id, fetch_events_from_all_sessions)
        )

    def _event_query(
        self, session: sa.orm.Session, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> sa.orm.Query:
        """Rasa's query, the same events in the same order, in two steps that indexes answer:
        the latest session start, then the events from then on (see EVENT_INDEXES)."""
        events = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = (
                session.query(sa.func.max(self.SQLEvent.timestamp))
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.type_name == SessionStarted.type_name,
                )
                .scalar()
            )
            if session_start is not None:
                events = events.filter(self.SQLEvent.timestamp >= session_start)
        return events.order_by(self.SQLEvent.id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        # Safe to repeat: only the events the database does not hold yet are stored.
        stored = await self._through_reconnects(functools.partial(self._store_new_events, tracker))
        if self.event_broker is not None and stored:
            publish_together(self.event_broker, tracker.sender_id, stored)

    async def _store_new_events(self, tracker: DialogueStateTracker) -> list[Event]:
        """Rasa's SQLTrackerStore.save without its streaming: the events of the tracker's
        session the database does not hold yet, stored in one transaction and returned."""
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            for event in new_events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        return new_events

    async def _through_reconnects(self, operation: Callable[[], Awaitable[Result]]) -> Result:
        for wait in RECONNECT_WAITS_SECONDS:
            try:
                return await operation()
            except sa.exc.OperationalError as error:
                logger.warning(
                    "tracker store unreachable (%s), trying again in %.2f s",
                    str(error.orig).strip().splitlines()[0] if error.orig else error,
                    wait,
                )
                await asyncio.sleep(wait)
        return await operation()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({masked_url(str(self.engine.url))})"


def publish_together(broker: EventBroker, sender_id: str, events: Sequence[Event]) -> None:
    """The events as Rasa's streaming publishes them, one body each, in order; a SQL broker's
    in one transaction."""
    bodies = [{"sender_id": sender_id, **event.as_dict()} for event in events]
    if not isinstance(broker, SQLEventBroker):
        for body in bodies:
            broker.publish(body)
        return
    with broker.session_scope() as session:
        session.add_all(
            broker.SQLBrokerEvent(sender_id=sender_id, data=json.dumps(body)) for body in bodies
        )
        session.commit()


def pool_broker_connections(broker: SQLEventBroker) -> None:
    """The SQL event broker on an engine like the tracker store's: Rasa's opens a new
    connection for every event (SQLAlchemy 1.4 pools no SQLite file connections) in SQLite's
    default journal mode, where the analytics reader and this writer wait for each other."""
    url = broker.engine.url.render_as_string(hide_password=False)
    broker.engine.dispose()
    broker.engine = tracker_engine(url, tracker_store_settings())
    broker.sessionmaker = sa.orm.session.sessionmaker(bind=broker.engine)


def tracker_engine(url: str, settings: TrackerStoreSettings) -> sa.engine.Engine:
    """The engine: Rasa's options (the PostgreSQL schema), then the pool and SQLite's pragmas."""
    options: dict[str, Any] = create_engine_kwargs(url)
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        options.update(
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            # A connection dropped by a PostgreSQL restart is replaced, not handed out.
            pool_pre_ping=True,
        )
    elif backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # SQLAlchemy 1.4 opens a new SQLite connection per session; a pool keeps them open.
        # QueuePool hands a connection to one user at a time, so sharing it across threads is
        # safe (SQLAlchemy 2.0's default for SQLite files).
        options.update(poolclass=QueuePool, connect_args={"check_same_thread": False})
    engine = sa.create_engine(url, **options)
    if backend == "sqlite":
        sa.event.listen(
            engine, "connect", functools.partial(_sqlite_pragmas, settings.sqlite_busy_timeout_ms)
        )
    return engine


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Readers no longer wait for the writer, and a commit appends to the log instead of
    # rewriting pages; busy_timeout makes a second writer wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()
