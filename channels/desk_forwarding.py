"""Customer messages of a handed-off conversation, passed on to the agent desk.

While a person has the conversation, Rasa is paused: it records the customer's messages in
the tracker but does not answer them. The channels wrap their message handler with
``DeskForwarding`` so that, once Rasa has recorded a message of a paused conversation, the
desk gets it at once; the socket.io channel also tells the desk when the customer leaves or
comes back. The tracker stays the record: if the desk is down, it reads the messages it
missed from Rasa's HTTP API when it is back, so forwarding here may fail without loss.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, Sanic

from clients.desk import DeskClient, DeskError
from common.assistant_settings import ServiceLink

logger = logging.getLogger(__name__)

MessageHandler = Callable[[UserMessage], Awaitable[Any]]


class DeskForwarding:
    """Attached to one channel's blueprint; knows the Rasa app once the server has started."""

    def __init__(self, desk: ServiceLink) -> None:
        # Best effort with a short timeout (the desk catches up from the tracker).
        self.desk = DeskClient(desk.url, desk.secret, timeout_seconds=desk.timeout_seconds)
        self.app: Sanic | None = None

    def attach(self, blueprint: Blueprint) -> None:
        @blueprint.listener("after_server_start")
        async def remember_app(app: Sanic, _loop: Any) -> None:
            self.app = app

    def wrap(self, on_new_message: MessageHandler) -> MessageHandler:
        async def handle_then_forward(message: UserMessage) -> None:
            await on_new_message(message)
            if message.sender_id:
                await self.forward_latest_message(message.sender_id)

        return handle_then_forward

    async def paused_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        agent = getattr(self.app.ctx, "agent", None) if self.app else None
        if agent is None or agent.tracker_store is None:
            return None
        try:
            tracker = await agent.tracker_store.retrieve(conversation_id)
        except Exception:  # a tracker store hiccup must not break the customer's chat
            logger.exception("could not read the tracker of %s", conversation_id)
            return None
        return tracker if tracker is not None and tracker.is_paused() else None

    async def forward_latest_message(self, conversation_id: str) -> None:
        tracker = await self.paused_tracker(conversation_id)
        if tracker is None:
            return
        latest = tracker.latest_message
        if latest is None or not latest.text or not latest.message_id:
            return
        try:
            await self.desk.customer_message(
                conversation_id, latest.message_id, latest.text, latest.timestamp
            )
        except DeskError as error:
            _not_told(error, "a message", conversation_id)

    async def presence(self, conversation_id: str, present: bool) -> None:
        if await self.paused_tracker(conversation_id) is None:
            return
        try:
            await self.desk.presence(conversation_id, present)
        except DeskError as error:
            _not_told(error, "presence", conversation_id)


def _not_told(error: DeskError, what: str, conversation_id: str) -> None:
    # 404: the desk holds no handoff of this conversation any more; nothing to tell it.
    if error.status != 404:
        logger.warning("desk not told %s of %s: %s", what, conversation_id, error)
