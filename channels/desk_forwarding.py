"""Customer messages of a handed-off conversation, passed on to the agent desk.

While a person has the conversation, Rasa is paused: it records the customer's messages in
the tracker but does not answer them. The channels wrap their message handler with
``DeskForwarding`` so that, once Rasa has recorded a message of a paused conversation, the
desk gets it at once; the socket.io channel also tells the desk when the customer leaves or
comes back. The tracker stays the record: if the desk is down, it reads the messages it
missed from Rasa's HTTP API when it is back, so forwarding here may fail without loss.

Whether a conversation is paused is read from the tracker Rasa has just handled the message
with, not from another read of the tracker store: Rasa saves that tracker at the end of every
message, and the save is noted (``note_saved_trackers``) in the task that handles the message,
where the forwarding then finds it. The pause state thus stays where it was: in the tracker,
in the shared tracker store, set by the handoff action and cleared by the desk's resume through
Rasa's API on whichever server takes them, and read under the conversation's lock. Keeping the
state in this process instead (from the events, or from the relay) would be wrong as soon as
two Rasa servers share the conversations. Where no save was noted (an agent without a tracker
store, a channel that handles the message in another task), the store is read as before.
The socket.io presence notices, one per connect and disconnect, still read the store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, Sanic

from channels.admission import MessageAdmission
from channels.understanding import understood_off_loop
from clients.desk import DeskClient, DeskError
from common.assistant_settings import ServiceLink

logger = logging.getLogger(__name__)

MessageHandler = Callable[[UserMessage], Awaitable[Any]]
# The tracker Rasa saved last in this task: the one it handled the task's message with.
_saved_tracker: ContextVar[DialogueStateTracker | None] = ContextVar(
    "desk_forwarding_saved_tracker", default=None
)
_NOTING = "_desk_forwarding_notes_saves"


def note_saved_trackers(tracker_store: Any) -> None:
    """Makes ``tracker_store`` note each tracker it saves for the task saving it (once)."""
    if getattr(tracker_store, _NOTING, False):
        return
    save = tracker_store.save

    async def save_and_note(tracker: DialogueStateTracker) -> None:
        await save(tracker)
        _saved_tracker.set(tracker)

    tracker_store.save = save_and_note
    setattr(tracker_store, _NOTING, True)


class DeskForwarding:
    """Attached to one channel's blueprint; knows the Rasa app once the server has started."""

    def __init__(self, desk: ServiceLink, admission: MessageAdmission) -> None:
        # Best effort with a short timeout (the desk catches up from the tracker).
        self.desk = DeskClient(desk.url, desk.secret, timeout_seconds=desk.timeout_seconds)
        self.admission = admission
        self.app: Sanic | None = None

    def attach(self, blueprint: Blueprint) -> None:
        @blueprint.listener("after_server_start")
        async def remember_app(app: Sanic, _loop: Any) -> None:
            self.app = app

    def wrap(self, on_new_message: MessageHandler) -> MessageHandler:
        """The handler the channels hand Rasa their messages through: each message let in
        in its turn (channels/admission.py), understood off the event loop
        (channels/understanding.py), handled by Rasa, then passed on to the desk if a person
        has the conversation."""
        understood_then_handled = understood_off_loop(self._agent, on_new_message)

        async def handle_then_forward(message: UserMessage) -> None:
            agent = self._agent()
            if agent is not None and agent.tracker_store is not None:
                # The agent's store, which a new model's agent may bring: noted once each.
                note_saved_trackers(agent.tracker_store)
            _saved_tracker.set(None)
            async with self.admission.turn():
                await understood_then_handled(message)
            if message.sender_id:
                await self.forward_latest_message(message.sender_id, _saved_tracker.get())

        return handle_then_forward

    def _agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None) if self.app else None

    async def paused_tracker(
        self, conversation_id: str, handled: DialogueStateTracker | None = None
    ) -> DialogueStateTracker | None:
        """The conversation's tracker if it is paused: ``handled``, the tracker Rasa has just
        saved, when it is this conversation's; else read from the store."""
        if handled is not None and handled.sender_id == conversation_id:
            return handled if handled.is_paused() else None
        agent = self._agent()
        if agent is None or agent.tracker_store is None:
            return None
        try:
            tracker = await agent.tracker_store.retrieve(conversation_id)
        except Exception:  # a tracker store hiccup must not break the customer's chat
            logger.exception("could not read the tracker of %s", conversation_id)
            return None
        return tracker if tracker is not None and tracker.is_paused() else None

    async def forward_latest_message(
        self, conversation_id: str, handled: DialogueStateTracker | None = None
    ) -> None:
        tracker = await self.paused_tracker(conversation_id, handled)
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
