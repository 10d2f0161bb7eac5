"""Rasa's event broker into the analytics tables: each event stored once, masked, and the
sessions of every sender it touched made again from all that sender's events.

Two brokers, one per profile: the SQL broker's ``events`` table (read by id from a checkpoint
kept in the same transaction as the events it covers) and RabbitMQ (Rasa's Pika broker; a
message is acknowledged only after the transaction that stored it commits, so a crash between
the two re-delivers it, and its key makes the second copy a no-op). Replaying a stream from its
start stores nothing twice: an event's key is the hash of its masked canonical JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row

from analytics import store
from analytics.masking import event_key, masked_event
from analytics.sessions import LineOfIntent, sender_sessions
from common.event_stream import DurableQueueReader, TableReader, parsed_json

logger = logging.getLogger(__name__)

# Rasa's Pika broker publishes every event to this fanout exchange (rasa/core/brokers/pika.py:
# RABBITMQ_EXCHANGE), declared as Rasa declares it (not durable: RabbitMQ refuses a second
# declaration that differs), and from there to every queue bound to it: its own
# (rasa_core_events, for whoever else reads the stream) and the analytics service's, a durable
# queue of its own, so that events published while the service is down wait for it and no other
# reader of Rasa's queue takes them away from it.
RASA_EXCHANGE = "rasa-exchange"
ANALYTICS_QUEUE = "fincs_analytics"
_NEXT_BROKER_ROWS = text(
    "SELECT id AS position, sender_id, data FROM events WHERE id > :after ORDER BY id LIMIT :n"
)


def catalogue_lines() -> LineOfIntent:
    """The product line of an intent, from the capability registry."""
    from registry.catalogue import default_catalogue

    catalogue = default_catalogue()

    def line_of_intent(intent: str) -> str | None:
        line = catalogue.line_of_intent(intent)
        return line.name if line else None

    return line_of_intent


class Ingestor:
    """Stores events and keeps the sessions made of them up to date."""

    def __init__(
        self,
        engine: Engine,
        line_of_intent: LineOfIntent,
        *,
        idle_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self._line_of_intent = line_of_intent
        self._idle_seconds = idle_seconds
        self._clock = clock

    def store(self, connection: Connection, raw_events: Iterable[dict[str, Any]]) -> int:
        """Stores the events not stored yet and remakes their senders' sessions, in the
        caller's transaction; returns how many were new."""
        rows: dict[str, dict[str, Any]] = {}
        for raw in raw_events:
            if not isinstance(raw, dict) or not raw.get("sender_id") or not raw.get("event"):
                continue
            masked = masked_event(raw)
            key = event_key(masked)
            rows[key] = {
                "key": key,
                "sender_id": str(raw["sender_id"]),
                "type": str(raw["event"]),
                "timestamp": float(raw.get("timestamp") or 0),
                "data": masked,
            }
        if not rows:
            return 0
        known = set(
            connection.execute(
                select(store.events.c.key).where(store.events.c.key.in_(list(rows)))
            ).scalars()
        )
        new = [row for key, row in rows.items() if key not in known]
        if new:
            connection.execute(_insert_ignoring_duplicates(connection), new)
            earliest: dict[str, float] = {}
            for row in new:
                sender = row["sender_id"]
                earliest[sender] = min(row["timestamp"], earliest.get(sender, row["timestamp"]))
            self.remake_sessions(connection, earliest)
        return len(new)

    def store_batch(self, raw_events: Iterable[dict[str, Any]]) -> int:
        with self.engine.begin() as connection:
            return self.store(connection, raw_events)

    def remake_sessions(self, connection: Connection, changed_since: dict[str, float]) -> None:
        """The sessions and messages of each sender made again from their events, from the
        session that holds the sender's time in ``changed_since`` on: the sessions before it
        cannot have changed, so a customer's long history is not read again at every
        message."""
        starts: dict[str, list[float]] = {sender: [] for sender in changed_since}
        for sender_id, started in connection.execute(
            select(store.sessions.c.sender_id, store.sessions.c.first_event_timestamp).where(
                store.sessions.c.sender_id.in_(sorted(changed_since))
            )
        ):
            starts[sender_id].append(started)
        for sender_id, since in changed_since.items():
            before = [started for started in starts[sender_id] if started <= since]
            self._remake_sender(connection, sender_id, max(before) if before else None)

    def _remake_sender(self, connection: Connection, sender_id: str, start: float | None) -> None:
        """Remakes the sessions of ``sender_id`` that begin at ``start`` or later (all of them
        when None)."""
        events = select(store.events.c.key, store.events.c.data).where(
            store.events.c.sender_id == sender_id
        )
        stale = select(store.sessions.c.session_id).where(store.sessions.c.sender_id == sender_id)
        if start is not None:
            events = events.where(store.events.c.timestamp >= start)
            stale = stale.where(store.sessions.c.first_event_timestamp >= start)
        stale_ids = list(connection.execute(stale).scalars())
        found = connection.execute(
            events.order_by(store.events.c.timestamp, store.events.c.id)
        ).all()
        remade = sender_sessions(
            sender_id,
            [{**data, "_key": key} for key, data in found],
            self._line_of_intent,
            self._clock(),
            self._idle_seconds,
        )
        if stale_ids:
            connection.execute(
                store.messages.delete().where(store.messages.c.session_id.in_(stale_ids))
            )
            connection.execute(
                store.sessions.delete().where(store.sessions.c.session_id.in_(stale_ids))
            )
        if remade:
            connection.execute(store.sessions.insert(), [session.row for session in remade])
        messages = [message for session in remade for message in session.messages]
        if messages:
            connection.execute(store.messages.insert(), messages)

    def remake_every_session(self, connection: Connection) -> None:
        """Every sender's sessions and messages made again from all their stored events (an
        upgrade dropped them)."""
        senders = connection.execute(select(store.events.c.sender_id).distinct()).scalars()
        for sender_id in list(senders):
            self._remake_sender(connection, sender_id, None)

    def close_idle_sessions(self) -> int:
        """Closes the sessions whose sender has been silent long enough (an abandoned flow is
        only abandoned then); returns how many were looked at again."""
        cutoff = datetime.fromtimestamp(self._clock() - self._idle_seconds, timezone.utc)
        with self.engine.begin() as connection:
            idle = connection.execute(
                select(store.sessions.c.sender_id, store.sessions.c.first_event_timestamp).where(
                    and_(
                        store.sessions.c.closed.is_(False),
                        store.sessions.c.ended_at <= cutoff.replace(tzinfo=None),
                    )
                )
            ).all()
            for sender_id, start in idle:
                self._remake_sender(connection, sender_id, start)
        return len(idle)


def open_service_store(
    url: str,
    line_of_intent: LineOfIntent,
    *,
    idle_seconds: float,
    clock: Callable[[], float] = time.time,
) -> Engine:
    """The analytics database as the service opens it: a database another version of the code
    made has its sessions made again from its stored events before anything reads it."""
    engine = store.connect(url)
    ingestor = Ingestor(engine, line_of_intent, idle_seconds=idle_seconds, clock=clock)
    store.upgrade(engine, ingestor.remake_every_session)
    return engine


def _insert_ignoring_duplicates(connection: Connection) -> Any:
    """An insert that skips an event another writer stored first."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(store.events).on_conflict_do_nothing(index_elements=["key"])


class SqlBrokerReader(TableReader):
    """Reads Rasa's SQL event broker table (``events``: id, sender_id, data) by id."""

    def __init__(self, broker_url: str, ingestor: Ingestor, batch_size: int = 500) -> None:
        def store_rows(connection: Connection, rows: Sequence[Row[Any]]) -> None:
            events = []
            for row in rows:
                event = parsed_json(row.data)
                if event is not None:
                    events.append({"sender_id": row.sender_id, **event})
            ingestor.store(connection, events)

        super().__init__(
            broker_url,
            "events",
            _NEXT_BROKER_ROWS,
            engine=ingestor.engine,
            checkpoints=store.checkpoints,
            handle=store_rows,
            batch_size=batch_size,
        )


class PikaConsumer(DurableQueueReader):
    """Reads the analytics queue bound to Rasa's exchange; acknowledges after the commit."""

    def __init__(
        self,
        url: str,
        ingestor: Ingestor,
        *,
        queue: str = ANALYTICS_QUEUE,
        exchange: str = RASA_EXCHANGE,
        batch_size: int = 500,
    ) -> None:
        def store_bodies(bodies: list[bytes]) -> None:
            ingestor.store_batch(
                [event for body in bodies if (event := parsed_json(body)) is not None]
            )

        super().__init__(
            url,
            queue=queue,
            exchange=exchange,
            handle=store_bodies,
            # Declared as Rasa declares it.
            exchange_durable=False,
            batch_size=batch_size,
        )
