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
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, Sanic

from common.secrets import required_secret

logger = logging.getLogger(__name__)

DEFAULT_DESK_URL = "http://127.0.0.1:5300"
# Forwarding is best effort (the desk reconciles from the tracker): never hold a customer up.
FORWARD_TIMEOUT_SECONDS = 2.0

MessageHandler = Callable[[UserMessage], Awaitable[Any]]


class DeskNotifier:
    def __init__(self, desk_url: str | None = None, service_secret: str | None = None) -> None:
        self.desk_url = (desk_url or os.environ.get("DESK_URL") or DEFAULT_DESK_URL).rstrip("/")
        self._secret = service_secret or required_secret(os.environ, "DESK_SERVICE_SECRET")

    async def _post(self, conversation_id: str, what: str, body: dict[str, Any]) -> None:
        url = f"{self.desk_url}/api/conversations/{quote(conversation_id, safe='')}/{what}"
        try:
            async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT_SECONDS) as client:
                reply = await client.post(
                    url, json=body, headers={"Authorization": f"Bearer {self._secret}"})
        except httpx.HTTPError as error:
            logger.warning("desk not told %s of %s: %r", what, conversation_id, error)
            return
        if reply.status_code >= 400 and reply.status_code != 404:
            logger.warning("desk answered %s to %s of %s", reply.status_code, what,
                           conversation_id)

    async def customer_message(self, conversation_id: str, message_id: str, text: str,
                               timestamp: float) -> None:
        await self._post(conversation_id, "customer-messages",
                         {"message_id": message_id, "text": text, "timestamp": timestamp})

    async def presence(self, conversation_id: str, present: bool) -> None:
        await self._post(conversation_id, "presence", {"present": present})


class DeskForwarding:
    """Attached to one channel's blueprint; knows the Rasa app once the server has started."""

    def __init__(self, notifier: DeskNotifier | None = None) -> None:
        self.notifier = notifier or DeskNotifier()
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
        await self.notifier.customer_message(conversation_id, latest.message_id, latest.text,
                                             latest.timestamp)

    async def presence(self, conversation_id: str, present: bool) -> None:
        if await self.paused_tracker(conversation_id) is not None:
            await self.notifier.presence(conversation_id, present)
