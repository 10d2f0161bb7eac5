"""socket.io for signed-in customers: the channel of the customer web chat page.

Rasa's own socketio channel takes the conversation id and the metadata from the client with
every message (even with ``jwt_key`` set), so a client could write into anyone's
conversation. Here the sign-in token is verified when the socket connects, the socket is bound
to that customer on the server, and whatever the client later sends as session_id, customData
or metadata is ignored.

A socket lives only as long as its sign-in: the browser's Origin must be on the allow-list
(channels/sessions.py), a customer may hold at most MAX_SOCKETS_PER_CUSTOMER sockets on one
server, and every message re-checks that the token has neither expired nor been revoked; if it
has, the socket is told and closed. Messages pass through CustomerMessages like REST's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import engineio
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio import exceptions as socketio_errors

from channels.admission import message_admission
from channels.customer_messages import CustomerMessages
from channels.desk_forwarding import DeskForwarding
from channels.limits import client_address
from channels.log_privacy import install_log_privacy
from channels.sessions import MAX_SOCKETS_PER_CUSTOMER, revoked_tokens
from common.assistant_settings import channel_settings
from common.customer_binding import (
    SIGN_IN_TOKEN_KEY,
    InvalidSignInToken,
    bound_sender_id,
    verify_sign_in_claims,
)

logger = logging.getLogger(__name__)

AGENT_SENDER = "agent"
# A CSS class the web chat widget (rasa-webchat) puts on the message, through its customCss.
AGENT_MESSAGE_CLASS = "agent-message"
# engine.io's ceiling on one packet (its default is 1 MB); OWASP's WebSocket guidance caps
# messages at 64 KB, and CustomerMessages answers anything over 2,000 characters anyway.
MAX_PACKET_BYTES = 64 * 1024
SESSION_ENDED_REPLY = "Your sign-in has ended. Please sign in again to go on chatting."
UNREADABLE_REPLY = "I could not read that message. Please type it again."


def sign_in_token(environ: dict[str, Any], auth: Any) -> str:
    """The token from the socket.io auth payload, or else from the connection's query string
    (the rasa-webchat widget can only pass it in the socket URL)."""
    if isinstance(auth, dict) and isinstance(auth.get(SIGN_IN_TOKEN_KEY), str):
        return auth[SIGN_IN_TOKEN_KEY]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return query.get(SIGN_IN_TOKEN_KEY, [""])[0]


def is_agent_message(custom: dict[str, Any]) -> bool:
    """A human agent's message during a handoff is a bot message whose custom payload is
    ``{"from": "agent", "agent_name": "<name>", "text": "<message>"}``."""
    return custom.get("from") == AGENT_SENDER and isinstance(custom.get("text"), str)


def agent_message_for_widget(custom: dict[str, Any]) -> dict[str, Any]:
    label = f"Agent {custom.get('agent_name') or 'on duty'}"
    return {
        "text": f"**{label}**\n\n{custom['text']}",
        "metadata": {"customCss": {"style": "class", "css": AGENT_MESSAGE_CLASS}},
    }


class _EngineLeavingCorsHeadersToRasa(engineio.AsyncServer):
    def _cors_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        # Rasa's CORS (given the same allow-list) already answers with the header; a second
        # copy makes browsers refuse the response.
        return []


class OriginCheckingServer(AsyncServer):
    """socket.io that refuses foreign Origins and leaves the CORS response headers to Rasa."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineLeavingCorsHeadersToRasa


class SignedSocketIOOutput(SocketIOOutput):
    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Rasa's version lets the payload pick the socket.io room; a custom payload must only
        # ever reach the conversation it belongs to.
        if is_agent_message(json_message):
            json_message = agent_message_for_widget(json_message)
        await self._send_message(recipient_id, json_message)


class SignedSocketIOInput(SocketIOInput):
    """socket.io where the conversation is the one of the customer whose sign-in token the
    socket presented at connect (``auth: {token}`` or ``?token=`` in the socket URL)."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read as the Rasa server builds its channels, so a missing or dev-only secret stops
        # it at start.
        self.settings = channel_settings()
        self.messages = CustomerMessages(self.settings)
        self.desk = DeskForwarding(
            self.settings.desk, message_admission(self.settings.messages_at_once)
        )
        self.allowed_origins = frozenset(self.settings.allowed_origins)
        self.revoked = revoked_tokens(self.settings.rate_limit_redis_url)
        self._sockets_of_token: dict[str, set[str]] = {}

    def origin_allowed(self, origin: str | None) -> bool:
        return origin in self.allowed_origins

    def sockets_of(self, conversation_id: str) -> int:
        if self.sio is None:
            return 0
        rooms = self.sio.manager.rooms.get(self.namespace or "/", {})
        return len(rooms.get(conversation_id) or ())

    def customer_is_connected(self, conversation_id: str) -> bool:
        return self.sockets_of(conversation_id) > 0

    async def session_is_current(self, session: dict[str, Any]) -> bool:
        return session.get("expires_at", 0) > time.time() and not await self.revoked.is_revoked(
            session.get("token_id", "")
        )

    async def end_sessions_of_token(self, token_id: str) -> int:
        """Tells the sockets opened with a revoked token that the sign-in has ended and
        closes them; returns how many there were."""
        sids = list(self._sockets_of_token.get(token_id, ()))
        for sid in sids:
            await self._end_session(sid)
        return len(sids)

    async def _end_session(self, sid: str) -> None:
        if self.sio is None:
            return
        await self.sio.emit(
            self.bot_message_evt, {"text": SESSION_ENDED_REPLY}, room=sid, namespace=self.namespace
        )
        await self.sio.disconnect(sid, namespace=self.namespace)

    async def push_handoff_message(self, conversation_id: str, message: dict[str, Any]) -> str:
        """An agent's message or a desk notice, shown now if the customer has the chat open."""
        if self.sio is None or not self.customer_is_connected(conversation_id):
            return "customer_offline"
        output = SignedSocketIOOutput(self.sio, self.bot_message_evt)
        if message["kind"] == "agent":
            await output.send_custom_json(
                conversation_id,
                {
                    "from": AGENT_SENDER,
                    "agent_name": message["agent_name"],
                    "text": message["text"],
                },
            )
        else:
            await output.send_text_message(conversation_id, message["text"])
        return "pushed"

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return super().get_output_channel()
        return SignedSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        install_log_privacy()
        # A callable, because an empty list would turn engine.io's Origin check off.
        sio = OriginCheckingServer(
            async_mode="sanic",
            cors_allowed_origins=self.origin_allowed,
            max_http_buffer_size=MAX_PACKET_BYTES,
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace
        self.desk.attach(socketio_webhook)
        on_new_message = self.desk.wrap(on_new_message)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            try:
                claims = verify_sign_in_claims(
                    sign_in_token(environ, auth), self.settings.signing_secret
                )
            except InvalidSignInToken as error:
                logger.info("socketio: connection refused, no valid sign-in token")
                raise socketio_errors.ConnectionRefusedError("sign-in required") from error
            if await self.revoked.is_revoked(claims.token_id):
                logger.info("socketio: connection refused, revoked sign-in token")
                raise socketio_errors.ConnectionRefusedError("sign-in required")
            conversation_id = bound_sender_id(claims.customer_id)
            if self.sockets_of(conversation_id) >= MAX_SOCKETS_PER_CUSTOMER:
                logger.warning("socketio: connection refused, too many sockets of a customer")
                raise socketio_errors.ConnectionRefusedError(
                    "too many open chats: close one and try again"
                )
            request = environ.get("sanic.request")
            await sio.save_session(
                sid,
                {
                    "customer_id": claims.customer_id,
                    "expires_at": claims.expires_at,
                    "token_id": claims.token_id,
                    "address": client_address(request) if request is not None else None,
                },
                namespace=namespace,
            )
            self._sockets_of_token.setdefault(claims.token_id, set()).add(sid)
            # Replies and later pushes (a human agent's messages) are emitted to the
            # conversation id as a room, so every open tab of this customer receives them.
            await sio.enter_room(sid, conversation_id, namespace=namespace)
            await self.desk.presence(conversation_id, present=True)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            customer_id = session.get("customer_id")
            if not customer_id:
                return
            sockets = self._sockets_of_token.get(session["token_id"], set())
            sockets.discard(sid)
            if not sockets:
                self._sockets_of_token.pop(session["token_id"], None)
            conversation_id = bound_sender_id(customer_id)
            await sio.leave_room(sid, conversation_id, namespace=namespace)
            # Another open tab of the same customer keeps them present.
            if not self.customer_is_connected(conversation_id):
                await self.desk.presence(conversation_id, present=False)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, _client_session: Any = None) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            await sio.emit(
                "session_confirm",
                bound_sender_id(session["customer_id"]),
                room=sid,
                namespace=namespace,
            )

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            if not await self.session_is_current(session):
                logger.info("socketio: socket closed, its sign-in expired or was revoked")
                await self._end_session(sid)
                return
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str):
                await sio.emit(
                    self.bot_message_evt, {"text": UNREADABLE_REPLY}, room=sid, namespace=namespace
                )
                return
            try:
                refusal = await self.messages.deliver(
                    on_new_message,
                    text,
                    SignedSocketIOOutput(sio, self.bot_message_evt),
                    bound_sender_id(session["customer_id"]),
                    self.name(),
                    session["address"],
                )
            except Exception:  # logged without the message, which may hold what it hid
                logger.exception("socketio: answering a message failed")
                return
            if refusal is not None:
                await sio.emit(
                    self.bot_message_evt,
                    {"text": self.messages.refusal_reply(refusal)},
                    room=sid,
                    namespace=namespace,
                )

        return socketio_webhook
