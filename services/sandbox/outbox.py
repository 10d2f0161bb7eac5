"""The outbox published to RabbitMQ (production profile): every `event_outbox` row not yet
published goes, in `seq` order, to the durable fanout exchange `fincs_backend_events` as a
persistent message the broker confirmed; only then is the row marked published.

The row is written in the transaction that makes the event, so a crash between that commit and
the publication leaves the row unpublished and it goes out at the next start: a consumer may see
an event twice and dedupes by `event_id` (the message id). A broker that is down does not stop
the sandbox: the rows wait and the publisher keeps trying.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange
from sqlalchemy import select, update

from common.clock import utcnow
from common.store_checks import masked_url
from services.sandbox.db import SandboxDatabase
from services.sandbox.models import EventOutbox

EXCHANGE = "fincs_backend_events"
BATCH = 100
# Events are made in this process and wake the publisher at once; the poll also finds rows
# written by another process over the same database.
POLL_SECONDS = 2.0
CONFIRM_TIMEOUT_SECONDS = 10.0
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)

log = logging.getLogger(__name__)


def message_body(row: EventOutbox) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "customer_id": row.customer_id,
        "kind": row.kind,
        "reference": row.reference,
        "occurred_at": row.occurred_at.isoformat(),
    }


class OutboxPublisher:
    def __init__(self, db: SandboxDatabase, url: str) -> None:
        self.db = db
        self.url = url
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """An event was committed: publish now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled, reconnecting after any broker or network failure."""
        failures = 0
        while True:
            try:
                await self._connected()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # aio_pika raises assorted types; each means "retry"
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "back-end events not published to %s (%s: %s); retrying in %.0f s",
                    masked_url(self.url),
                    type(error).__name__,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
            else:
                failures = 0

    async def _connected(self) -> None:
        connection = await aio_pika.connect(self.url, timeout=CONFIRM_TIMEOUT_SECONDS)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
            )
            while True:
                self._wake.clear()
                while await self.publish_pending(exchange):
                    pass
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def publish_pending(self, exchange: AbstractExchange) -> int:
        """One batch of unpublished rows, oldest first; returns how many went out."""
        query = (
            select(EventOutbox)
            .where(EventOutbox.published_at.is_(None))
            .order_by(EventOutbox.seq)
            .limit(BATCH)
        )
        async with self.db.reading() as session:
            rows = (await session.execute(query)).scalars().all()
        confirmed: list[int] = []
        try:
            for row in rows:
                message = aio_pika.Message(
                    json.dumps(message_body(row)).encode(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=row.event_id,
                    type=row.kind,
                )
                # Awaits the broker's confirmation (a refusal raises): one at a time keeps the
                # order. Not mandatory: a fanout with no queue bound yet drops the message, as
                # any exchange does; consumers bind their durable queue before events happen.
                await exchange.publish(
                    message, routing_key="", mandatory=False, timeout=CONFIRM_TIMEOUT_SECONDS
                )
                confirmed.append(row.seq)
        finally:
            if confirmed:
                async with self.db.writing() as session:
                    await session.execute(
                        update(EventOutbox)
                        .where(EventOutbox.seq.in_(confirmed))
                        .values(published_at=utcnow())
                    )
        return len(confirmed)
