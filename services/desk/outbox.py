"""Calls owed to the Rasa server, written in the same transaction as what caused them and
delivered by one loop that retries until Rasa takes them.

Within a conversation, items go strictly in order (an agent's messages before the resume that
ends the handoff): an item waits while an earlier one of its conversation is undelivered.
Conversations do not wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import utcnow
from common.logging_setup import set_conversation_id
from services.desk.db import DeskDatabase
from services.desk.models import OutboxItem
from services.desk.rasa_client import RasaClient, RasaRefused, RasaUnavailable

logger = logging.getLogger(__name__)

RELAY, RESUME, TRIGGER_INTENT = "relay", "resume", "trigger_intent"
# Rasa's relay answer for a customer whose socket is gone: push it again when they are back.
CUSTOMER_OFFLINE = "customer_offline"
FIRST_RETRY_SECONDS = 0.25
# Also look now and then without being woken, in case a wake-up was missed.
IDLE_POLL_SECONDS = 2.0
PARALLEL_CONVERSATIONS = 8


def enqueue(
    session: AsyncSession,
    conversation_id: str,
    handoff_id: str,
    action: str,
    payload: dict[str, Any],
) -> None:
    now = utcnow()
    session.add(
        OutboxItem(
            conversation_id=conversation_id,
            handoff_id=handoff_id,
            action=action,
            payload=payload,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )


async def push_again_offline_messages(session: AsyncSession, handoff_id: str) -> None:
    """Relayed messages the customer was not there to see go out again (Rasa records each
    message id once, so only the push repeats)."""
    await session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.handoff_id == handoff_id,
            OutboxItem.action == RELAY,
            OutboxItem.delivery == CUSTOMER_OFFLINE,
        )
        .values(delivered_at=None, delivery=None, attempts=0, next_attempt_at=utcnow())
    )


class OutboxWorker:
    def __init__(self, db: DeskDatabase, rasa: RasaClient, max_backoff_seconds: float) -> None:
        self._db = db
        self._rasa = rasa
        self._max_backoff = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._slots = asyncio.Semaphore(PARALLEL_CONVERSATIONS)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ends `run` after the current pass, never in the middle of a database write."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            # Cleared before the pass, so items enqueued during it wake the next one at once.
            self._wake.clear()
            try:
                wait = await self.deliver_due()
            except Exception:  # a database hiccup: try again shortly
                logger.exception("outbox pass failed")
                wait = IDLE_POLL_SECONDS
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    async def deliver_due(self) -> float:
        """One pass over the pending items; returns how long to wait before the next pass."""
        async with self._db.reading() as session:
            pending = list(
                (
                    await session.execute(
                        select(OutboxItem)
                        .where(OutboxItem.delivered_at.is_(None), OutboxItem.abandoned_at.is_(None))
                        .order_by(OutboxItem.id)
                    )
                ).scalars()
            )
        by_conversation: dict[str, list[OutboxItem]] = {}
        for item in pending:
            by_conversation.setdefault(item.conversation_id, []).append(item)
        waits = await asyncio.gather(
            *(self._deliver_in_order(items) for items in by_conversation.values())
        )
        return min([IDLE_POLL_SECONDS, *waits])

    async def _deliver_in_order(self, items: list[OutboxItem]) -> float:
        """Delivers a conversation's items until one is not due or fails; returns the wait."""
        # gather runs this in a task of its own, so the id stays with this conversation's logs.
        set_conversation_id(items[0].conversation_id)
        async with self._slots:
            for item in items:
                due_in = (item.next_attempt_at - utcnow()).total_seconds()
                if due_in > 0:
                    return due_in
                if not await self._deliver(item):
                    return self._backoff(item.attempts)
        return IDLE_POLL_SECONDS

    async def _deliver(self, item: OutboxItem) -> bool:
        """True when the conversation may go on to its next item."""
        call = self._calls().get(item.action)
        try:
            if call is None:
                raise RasaRefused(f"unknown outbox action {item.action!r}")
            delivery = await call(item)
        except RasaUnavailable as error:
            await self._failed(item, str(error))
            return False
        except RasaRefused as error:
            logger.error(
                "Rasa refused %s for %s for good: %s", item.action, item.conversation_id, error
            )
            await self._mark(item, abandoned_at=utcnow(), last_error=str(error))
            return True
        await self._mark(item, delivered_at=utcnow(), delivery=delivery, attempts=item.attempts + 1)
        return True

    def _calls(self) -> dict[str, Callable[[OutboxItem], Awaitable[str | None]]]:
        async def relay(item: OutboxItem) -> str | None:
            return await self._rasa.relay(item.payload)

        async def resume(item: OutboxItem) -> None:
            await self._rasa.resume(item.conversation_id)

        async def trigger_intent(item: OutboxItem) -> None:
            await self._rasa.trigger_intent(item.conversation_id, item.payload)

        return {RELAY: relay, RESUME: resume, TRIGGER_INTENT: trigger_intent}

    def _backoff(self, attempts: int) -> float:
        return min(self._max_backoff, FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0))

    async def _failed(self, item: OutboxItem, error: str) -> None:
        item.attempts += 1
        retry_at = utcnow() + timedelta(seconds=self._backoff(item.attempts))
        logger.info(
            "Rasa did not take %s for %s (attempt %d): %s",
            item.action,
            item.conversation_id,
            item.attempts,
            error,
        )
        await self._mark(
            item, attempts=item.attempts, next_attempt_at=retry_at, last_error=error[:1000]
        )

    async def _mark(self, item: OutboxItem, **values: Any) -> None:
        async with self._db.writing() as session:
            await session.execute(
                update(OutboxItem).where(OutboxItem.id == item.id).values(**values)
            )
