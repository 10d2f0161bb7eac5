"""Reading a stream of events exactly once into a database of one's own, the two ways the
profiles offer: a table in another database read by an increasing id from a checkpoint kept in
the reader's database (embedded profile), or a durable RabbitMQ queue bound to a fanout
exchange (production profile).

What makes both exactly-once is the same: what the reader does with a batch, and where it has
got to, are committed together. The table's checkpoint moves in the transaction that handles
the rows; a queue's messages are acknowledged only after the transaction that handled them
commits, so a crash in between gives them again and the handler must make a second copy a
no-op (a unique key). The analytics service reads Rasa's event broker this way, and the
notifier the back end's events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import TextClause

from common.store_checks import masked_url, sync_sql_url

logger = logging.getLogger(__name__)

# Handles a batch in the reader's transaction (``connection``) before the position moves.
HandleRows = Callable[[Connection, Sequence[Row[Any]]], None]
# Handles a batch of message bodies and commits; the messages are acknowledged after it returns.
HandleBodies = Callable[[list[bytes]], None]


def checkpoint_table(metadata: MetaData, name: str) -> Table:
    """A table of read positions, one row per source (its kind and masked address)."""
    return Table(
        name,
        metadata,
        Column("source", String(512), primary_key=True),
        Column("position", Integer, nullable=False),
    )


def checkpoint(connection: Connection, table: Table, source: str) -> int:
    """The last position stored for ``source`` (0: nothing read yet)."""
    found = connection.execute(table.select().where(table.c.source == source)).first()
    return int(found.position) if found else 0


def save_checkpoint(connection: Connection, table: Table, source: str, position: int) -> None:
    updated = connection.execute(
        table.update().where(table.c.source == source).values(position=position)
    )
    if not updated.rowcount:
        connection.execute(table.insert().values(source=source, position=position))


def parsed_json(body: str | bytes) -> dict[str, Any] | None:
    """A JSON object, or None (logged without its content) for anything else."""
    try:
        value = json.loads(body)
    except (ValueError, TypeError):
        logger.warning("an event that is not JSON was skipped")
        return None
    return value if isinstance(value, dict) else None


class TableReader:
    """Reads ``table`` of the database at ``source_url`` by its increasing ``id`` column after
    the position kept in ``checkpoints`` of ``engine`` (the reader's own database).

    ``query`` selects the rows after ``:after`` in id order, at most ``:n``, with the id as
    ``position``. A source that has not made its table yet reads as empty. ``last_position``,
    when given, selects the table's highest id: a checkpoint above it means the table was made
    again (its ids restarted), and it is read again from its start.
    """

    def __init__(
        self,
        source_url: str,
        table: str,
        query: TextClause,
        *,
        engine: Engine,
        checkpoints: Table,
        handle: HandleRows,
        batch_size: int = 500,
        last_position: TextClause | None = None,
    ) -> None:
        self.source = f"sql:{masked_url(source_url)}"
        self.engine = engine
        self._source = create_engine(sync_sql_url(source_url), poolclass=NullPool, future=True)
        self._table = table
        self._query = query
        self._checkpoints = checkpoints
        self._handle = handle
        self._batch_size = batch_size
        self._last_position = last_position

    def read_once(self) -> int:
        """Handles the next batch of rows; returns how many rows were read."""
        with self.engine.begin() as connection:
            position = checkpoint(connection, self._checkpoints, self.source)
            with self._source.connect() as source:
                if not inspect(source).has_table(self._table):
                    return 0
                rows = self._rows_after(source, position)
                if not rows and position > 0 and self._made_again(source, position):
                    logger.warning("%s was made again: reading it from its start", self._table)
                    save_checkpoint(connection, self._checkpoints, self.source, 0)
                    rows = self._rows_after(source, 0)
            if not rows:
                return 0
            self._handle(connection, rows)
            save_checkpoint(connection, self._checkpoints, self.source, int(rows[-1].position))
        return len(rows)

    def _rows_after(self, source: Connection, position: int) -> Sequence[Row[Any]]:
        return source.execute(self._query, {"after": position, "n": self._batch_size}).all()

    def _made_again(self, source: Connection, position: int) -> bool:
        if self._last_position is None:
            return False
        return int(source.execute(self._last_position).scalar() or 0) < position

    def close(self) -> None:
        self._source.dispose()


class DurableQueueReader:
    """Reads a durable queue of one's own bound to a fanout exchange; acknowledges a batch only
    after ``handle`` has committed it, and gives it back to the queue when ``handle`` fails."""

    def __init__(
        self,
        url: str,
        *,
        queue: str,
        exchange: str,
        handle: HandleBodies,
        exchange_durable: bool,
        batch_size: int = 500,
    ) -> None:
        self.source = f"pika:{masked_url(url)}/{queue}"
        self._url = url
        self._queue_name = queue
        self._exchange_name = exchange
        # The exchange is declared as its publisher declares it: RabbitMQ refuses a second
        # declaration that differs.
        self._exchange_durable = exchange_durable
        self._handle = handle
        self._batch_size = batch_size
        self._connection: Any = None
        self._queue: Any = None

    async def ready_queue(self) -> Any:
        """The queue, declared and bound to the exchange (connecting first)."""
        import aio_pika

        if self._queue is not None and not self._connection.is_closed:
            return self._queue
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self._exchange_name, type=aio_pika.ExchangeType.FANOUT, durable=self._exchange_durable
        )
        self._queue = await channel.declare_queue(self._queue_name, durable=True)
        await self._queue.bind(exchange, "")
        return self._queue

    async def read_once(self) -> int:
        """Handles the messages waiting (up to a batch); returns how many were read."""
        queue = await self.ready_queue()
        batch = []
        while len(batch) < self._batch_size:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            batch.append(message)
        if not batch:
            return 0
        try:
            await asyncio.to_thread(self._handle, [message.body for message in batch])
        except Exception:
            # Back to the queue: the next read (after the database is back) handles them.
            await batch[-1].nack(multiple=True, requeue=True)
            raise
        await batch[-1].ack(multiple=True)
        return len(batch)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = self._queue = None
