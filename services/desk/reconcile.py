"""Catching up with Rasa: customer messages the desk missed (it was down, or forwarding
failed) are read from the conversations' trackers, every few seconds and at start-up."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from common.logging_setup import set_conversation_id
from services.desk import intake
from services.desk.context import Desk
from services.desk.models import OPEN_STATUSES, Handoff, HandoffMessage
from services.desk.rasa_client import RasaRefused, RasaUnavailable
from services.desk.times import to_epoch

logger = logging.getLogger(__name__)

PARALLEL_TRACKERS = 4


class Reconciler:
    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self._slots = asyncio.Semaphore(PARALLEL_TRACKERS)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ends `run` after the current round."""
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.reconcile_once()
            except Exception:  # a database hiccup: the next round tries again
                logger.exception("reconciling with Rasa failed")
            try:
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self._desk.settings.reconcile_seconds
                )
            except asyncio.TimeoutError:
                pass

    async def reconcile_once(self) -> None:
        async with self._desk.db.reading() as session:
            open_handoffs = (
                await session.execute(
                    select(Handoff.id, Handoff.conversation_id, Handoff.created_at).where(
                        Handoff.status.in_(OPEN_STATUSES)
                    )
                )
            ).all()
        await asyncio.gather(
            *(
                self._catch_up(handoff_id, conversation_id, to_epoch(created_at))
                for handoff_id, conversation_id, created_at in open_handoffs
            )
        )

    async def _catch_up(self, handoff_id: str, conversation_id: str, since: float) -> None:
        # gather runs this in a task of its own, so the id stays with this conversation's logs.
        set_conversation_id(conversation_id)
        async with self._slots:
            try:
                events = await self._desk.rasa.user_messages(conversation_id)
            except (RasaUnavailable, RasaRefused) as error:
                logger.debug("tracker of %s not read: %s", conversation_id, error)
                return
        # Read first, so that only messages the desk lacks take a write.
        async with self._desk.db.reading() as session:
            known = set(
                (
                    await session.execute(
                        select(HandoffMessage.message_id).where(
                            HandoffMessage.handoff_id == handoff_id
                        )
                    )
                ).scalars()
            )
        for event in events:
            message_id, text, timestamp = (
                event.get("message_id"),
                event.get("text"),
                event.get("timestamp"),
            )
            if (
                isinstance(message_id, str)
                and message_id
                and message_id not in known
                and isinstance(text, str)
                and isinstance(timestamp, int | float)
                and timestamp > since
            ):
                await intake.customer_message(
                    self._desk, conversation_id, message_id, text, float(timestamp)
                )
