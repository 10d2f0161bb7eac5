"""The agent desk's way into a conversation: an agent's message (or the desk's own notice, such
as a queue position) goes to the customer in the channel they are chatting on.

``POST /webhooks/handoff/relay`` with ``Authorization: Bearer $DESK_SERVICE_SECRET`` and
``{"conversation_id", "message_id", "kind": "agent"|"desk", "agent_name", "text"}``. The message
is first recorded in the conversation's tracker (once per message_id, so the desk may retry),
then pushed to the customer. The answer says what happened:
``{"recorded": true, "delivery": "pushed" | "customer_offline" | "recorded_only"}``;
customer_offline means the desk should push it again when the customer is back,
recorded_only that the channel cannot push (REST): the message waits in the tracker.

A message is taken only when the desk confirms it sent exactly that message (its own record of
the message id: an agent's message is written there only while that agent holds the claim; 403
otherwise, even with the secret), and only while the conversation is paused for a handoff (409
otherwise: the desk tries again, which also covers a notice that arrives before the pause is
recorded). Links in
it survive only when they are http(s): the web chat renders Markdown, and a ``javascript:``
or ``data:`` link from a forged "agent" would run in the customer's page.
"""

from __future__ import annotations

import hmac
import html
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clients.desk import DeskClient, DeskError
from common.assistant_settings import channel_settings

logger = logging.getLogger(__name__)

MAX_RELAYED_TEXT = 4000
KINDS = ("agent", "desk")
RELAY_METADATA_KEY = "handoff_message_id"

# The destination may hold balanced parentheses, as Markdown allows: "javascript:f(1)".
_MARKDOWN_LINK = re.compile(
    r"(!?)\[([^\]\n]*)\]\(\s*([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+\"[^\"]*\")?\s*\)"
)
_LINK_DEFINITION = re.compile(r"^[ \t]*\[[^\]\n]+\]:[ \t]*(\S+).*$", re.MULTILINE)
_HTML_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_WEB_LINK = re.compile(r"https?://", re.IGNORECASE)


@runtime_checkable
class PushesHandoffMessages(Protocol):
    async def push_handoff_message(self, conversation_id: str, message: dict[str, Any]) -> str:
        """Shows the message to the customer now; "pushed" or "customer_offline"."""


def relayed_payload(body: dict[str, Any]) -> dict[str, Any] | None:
    """The relay request's fields, checked; None when the request is not usable."""
    conversation_id, message_id = body.get("conversation_id"), body.get("message_id")
    text, kind = body.get("text"), body.get("kind")
    agent_name = body.get("agent_name")
    if not all(isinstance(value, str) and value for value in (conversation_id, message_id, text)):
        return None
    if kind not in KINDS or len(text) > MAX_RELAYED_TEXT:
        return None
    if agent_name is not None and not isinstance(agent_name, str):
        return None
    return {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "kind": kind,
        "agent_name": agent_name,
        "text": only_web_links(text),
    }


def is_web_link(url: str) -> bool:
    # Browsers ignore control characters and whitespace inside a scheme ("java\tscript:").
    unescaped = re.sub(r"[\x00-\x20]", "", html.unescape(url))
    return bool(_WEB_LINK.match(unescaped))


def only_web_links(text: str) -> str:
    """The text with HTML tags removed and every Markdown link or image that is not
    http(s) reduced to its label."""

    def link(match: re.Match[str]) -> str:
        return match.group() if is_web_link(match.group(3)) else match.group(2)

    def definition(match: re.Match[str]) -> str:
        return match.group() if is_web_link(match.group(1)) else ""

    text = _HTML_TAG.sub("", text)
    return _LINK_DEFINITION.sub(definition, _MARKDOWN_LINK.sub(link, text))


def already_recorded(tracker: DialogueStateTracker, message_id: str) -> bool:
    return any(
        isinstance(event, BotUttered)
        and (event.metadata or {}).get(RELAY_METADATA_KEY) == message_id
        for event in tracker.events
    )


def as_bot_utterance(message: dict[str, Any]) -> BotUttered:
    """An agent's message in the tracker: a bot utterance marked as the person's."""
    custom = (
        {"from": "agent", "agent_name": message["agent_name"], "text": message["text"]}
        if message["kind"] == "agent"
        else None
    )
    return BotUttered(
        text=message["text"],
        data={"custom": custom} if custom else {},
        metadata={
            RELAY_METADATA_KEY: message["message_id"],
            "handoff_kind": message["kind"],
            "agent_name": message["agent_name"],
        },
    )


def sent_by_the_desk(sent: dict[str, Any] | None, message: dict[str, Any]) -> bool:
    """Whether the desk's own record of the message is the message the relay was handed."""
    return (
        sent is not None
        and sent.get("conversation_id") == message["conversation_id"]
        and sent.get("kind") == message["kind"]
        and (message["kind"] != "agent" or sent.get("agent_name") == message["agent_name"])
        and only_web_links(str(sent.get("text") or "")) == message["text"]
    )


class HandoffRelayInput(InputChannel):
    def __init__(self, service_secret: str | None = None, desk: DeskClient | None = None) -> None:
        link = channel_settings().desk
        self._secret = service_secret or link.secret
        self._desk = desk or DeskClient(link.url, link.secret, timeout_seconds=link.timeout_seconds)

    @classmethod
    def name(cls) -> str:
        return "handoff"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def _authorised(self, request: Request) -> bool:
        scheme, _, secret = (request.headers.get("Authorization") or "").partition(" ")
        return (
            bool(self._secret)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(secret.strip().encode(), self._secret.encode())
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        relay = Blueprint("handoff_relay", __name__)

        @relay.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @relay.route("/relay", methods=["POST"])
        async def relay_message(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            message = relayed_payload(request.json if isinstance(request.json, dict) else {})
            if message is None:
                return response.json(
                    {
                        "error": "conversation_id, message_id, text and kind "
                        "(agent or desk) are required"
                    },
                    status=422,
                )
            try:
                sent = await self._desk.sent_message(message["message_id"])
            except DeskError:
                return response.json({"error": "the desk cannot confirm the message"}, status=503)
            if not sent_by_the_desk(sent, message):
                logger.warning(
                    "handoff relay refused for %s: not a message the desk sent",
                    message["conversation_id"],
                )
                return response.json({"error": "the desk sent no such message"}, status=403)
            tracker = await self._record(request, message)
            if tracker is None:
                return response.json({"error": "no such conversation"}, status=404)
            if not tracker.is_paused():
                logger.warning(
                    "handoff relay refused for %s: no handoff open", message["conversation_id"]
                )
                return response.json(
                    {"error": "no handoff is open in this conversation"}, status=409
                )
            delivery = await self._push(request, tracker, message)
            return response.json({"recorded": True, "delivery": delivery})

        return relay

    async def _record(
        self, request: Request, message: dict[str, Any]
    ) -> DialogueStateTracker | None:
        agent = request.app.ctx.agent
        conversation_id = message["conversation_id"]
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.tracker_store.retrieve(conversation_id)
            if tracker is None or not tracker.is_paused():
                return tracker
            if not already_recorded(tracker, message["message_id"]):
                tracker.update(as_bot_utterance(message))
                await agent.tracker_store.save(tracker)
        return tracker

    async def _push(
        self, request: Request, tracker: DialogueStateTracker, message: dict[str, Any]
    ) -> str:
        channel_name = tracker.get_latest_input_channel()
        channels = getattr(request.app.ctx, "input_channels", None) or []
        channel = next((c for c in channels if c.name() == channel_name), None)
        try:
            if isinstance(channel, PushesHandoffMessages):
                return await channel.push_handoff_message(message["conversation_id"], message)
            output = channel.get_output_channel() if channel is not None else None
            if output is None:
                return "recorded_only"
            text = (
                f"{message['agent_name'] or 'Our colleague'} (a person): {message['text']}"
                if message["kind"] == "agent"
                else message["text"]
            )
            await output.send_text_message(message["conversation_id"], text)
            return "pushed"
        except Exception:  # the message is in the tracker; the desk will push it again
            logger.exception("pushing a desk message to %s failed", message["conversation_id"])
            return "customer_offline"
