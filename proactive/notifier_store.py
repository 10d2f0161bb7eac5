"""The notifier's database: one row per back-end event it was given (its notice's fate), and
how far the back end's outbox has been read. SQLAlchemy Core on SQLite (the embedded profile's
file) or PostgreSQL; the tables are created at start.

A notice's row is written in the transaction that moves the queue's checkpoint (or before its
message is acknowledged), keyed by the event id: an event given twice, by a redelivery, a
replay or a restart, finds its row and adds nothing. Every later decision about it (sent,
skipped, deferred, tried again) is an update of that row, so what was decided survives a
restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from common.event_stream import checkpoint_table
from common.store_checks import sync_sql_url

# What became of a notice. WAITING: to be sent at due_at (new, deferred past quiet hours or a
# busy conversation, or tried again after a failure); every other status is final.
WAITING = "waiting"
SENT = "sent"
SKIPPED = "skipped"
RATE_LIMITED = "rate_limited"
EXPIRED = "expired"

metadata = MetaData()

notices = Table(
    "notifier_notices",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reference", String(64), nullable=False),
    # Naive UTC, as the back end gives them.
    Column("occurred_at", DateTime, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    # Why: no_consent, quiet_hours, agent, form, unavailable, sending, ...
    Column("reason", String(32), nullable=False),
    Column("due_at", DateTime, nullable=False, index=True),
    # Sends begun: from the first on, Rasa is asked whether the notice already reached the
    # conversation before it is sent again.
    Column("attempts", Integer, nullable=False, default=0),
    # Rounds that failed (the back end or Rasa away): the pause before the next grows with it.
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
    Column("decided_at", DateTime, nullable=False),
    Column("sent_at", DateTime, index=True),
)

checkpoints = checkpoint_table(metadata, "notifier_checkpoints")


@dataclass(frozen=True)
class Notice:
    event_id: str
    customer_id: str
    kind: str
    reference: str
    occurred_at: datetime
    status: str
    reason: str
    due_at: datetime
    attempts: int
    failures: int


def open_store(url: str) -> Engine:
    """The engine of the notifier's database at ``url``, its tables created if missing."""
    sync_url = sync_sql_url(url)
    options: dict[str, Any] = {"future": True}
    is_sqlite = sync_url.get_backend_name() == "sqlite"
    if is_sqlite:
        if sync_url.database and sync_url.database != ":memory:":
            Path(sync_url.database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}
    else:
        options.update(pool_pre_ping=True)
    engine = create_engine(sync_url, **options)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_wal)
    with engine.begin() as connection:
        metadata.create_all(connection)
        _add_missing_columns(connection)
    return engine


def _add_missing_columns(connection: Connection) -> None:
    """Columns this code added to a table an earlier version made: each has a default, so the
    rows already there (what was sent, what waits) are kept as they are."""
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspect(connection).get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if column.server_default is None and not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name} cannot be added to kept rows")
            kind = column.type.compile(dialect=connection.dialect)
            default = f" DEFAULT {column.server_default.arg}" if column.server_default else ""
            null = "" if column.nullable else " NOT NULL"
            connection.execute(
                text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{default}{null}")
            )


def _sqlite_wal(dbapi_connection: Any, _: Any) -> None:
    # The health route reads while the consumer writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def occurred(value: Any) -> datetime | None:
    """An event's time as naive UTC: a datetime, or ISO text with or without a zone."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def record_events(
    connection: Connection,
    events: Iterable[dict[str, Any]],
    kinds: frozenset[str],
    now: datetime,
) -> int:
    """A waiting notice for each event of a kind in ``kinds`` not recorded before, in the
    caller's transaction; returns how many are new. Events of other kinds have no notice."""
    rows: dict[str, dict[str, Any]] = {}
    for raw in events:
        kind = str(raw.get("kind") or "")
        event_id = str(raw.get("event_id") or "")
        customer_id = str(raw.get("customer_id") or "")
        occurred_at = occurred(raw.get("occurred_at"))
        if kind not in kinds or not event_id or not customer_id or occurred_at is None:
            continue
        rows[event_id] = {
            "event_id": event_id,
            "customer_id": customer_id,
            "kind": kind,
            "reference": str(raw.get("reference") or ""),
            "occurred_at": occurred_at,
            "received_at": now,
            "status": WAITING,
            "reason": "new",
            "due_at": now,
            "attempts": 0,
            "failures": 0,
            "decided_at": now,
        }
    if not rows:
        return 0
    known = set(
        connection.execute(
            select(notices.c.event_id).where(notices.c.event_id.in_(list(rows)))
        ).scalars()
    )
    new = [row for event_id, row in rows.items() if event_id not in known]
    if new:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(
            dialect.insert(notices).on_conflict_do_nothing(index_elements=["event_id"]), new
        )
    return len(new)


def due_notices(engine: Engine, now: datetime, limit: int) -> list[Notice]:
    """The waiting notices whose time has come, oldest due first, then in the order their
    events happened."""
    with engine.connect() as connection:
        found = connection.execute(
            select(notices)
            .where(notices.c.status == WAITING, notices.c.due_at <= now)
            .order_by(notices.c.due_at, notices.c.occurred_at, notices.c.event_id)
            .limit(limit)
        ).all()
    return [
        Notice(
            event_id=row.event_id,
            customer_id=row.customer_id,
            kind=row.kind,
            reference=row.reference,
            occurred_at=row.occurred_at,
            status=row.status,
            reason=row.reason,
            due_at=row.due_at,
            attempts=row.attempts,
            failures=row.failures,
        )
        for row in found
    ]


def sent_since(engine: Engine, customer_id: str, since: datetime) -> int:
    """How many notices ``customer_id`` was sent from ``since`` on."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(notices)
                .where(
                    notices.c.customer_id == customer_id,
                    notices.c.status == SENT,
                    notices.c.sent_at >= since,
                )
            ).scalar()
        )


def update_notice(engine: Engine, event_id: str, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(notices.update().where(notices.c.event_id == event_id).values(**values))


def notice_status(engine: Engine) -> dict[str, str]:
    """Every notice's status by event id (tests, and an operator's look)."""
    with engine.connect() as connection:
        return dict(connection.execute(select(notices.c.event_id, notices.c.status)).all())
