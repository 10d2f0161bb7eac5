"""socket.io for signed-in customers: the channel of the customer web chat page.

Rasa's own socketio channel takes the conversation id and the metadata from the client with
every message (even with ``jwt_key`` set), so a client could write into anyone's
conversation. Here the sign-in token is verified when the socket connects, the socket is bound
to that customer on the server, and whatever the client later sends as session_id, customData
or metadata is ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio import exceptions as socketio_errors

from channels.customer_binding import InvalidSignInToken, bound_sender_id, verify_sign_in_token
from channels.desk_forwarding import DeskForwarding

SIGN_IN_TOKEN_KEY = "token"
AGENT_SENDER = "agent"
# A CSS class the web chat widget (rasa-webchat) puts on the message, through its customCss.
AGENT_MESSAGE_CLASS = "agent-message"


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
        self.desk = DeskForwarding()

    def customer_is_connected(self, conversation_id: str) -> bool:
        if self.sio is None:
            return False
        rooms = self.sio.manager.rooms.get(self.namespace or "/", {})
        return bool(rooms.get(conversation_id))

    async def push_handoff_message(self, conversation_id: str, message: dict[str, Any]) -> str:
        """An agent's message or a desk notice, shown now if the customer has the chat open."""
        if self.sio is None or not self.customer_is_connected(conversation_id):
            return "customer_offline"
        output = SignedSocketIOOutput(self.sio, self.bot_message_evt)
        if message["kind"] == "agent":
            await output.send_custom_json(conversation_id, {
                "from": AGENT_SENDER, "agent_name": message["agent_name"],
                "text": message["text"]})
        else:
            await output.send_text_message(conversation_id, message["text"])
        return "pushed"

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return super().get_output_channel()
        return SignedSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
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
                customer_id = verify_sign_in_token(sign_in_token(environ, auth))
            except InvalidSignInToken as error:
                raise socketio_errors.ConnectionRefusedError("sign-in required") from error
            await sio.save_session(sid, {"customer_id": customer_id}, namespace=namespace)
            # Replies and later pushes (a human agent's messages) are emitted to the
            # conversation id as a room, so every open tab of this customer receives them.
            await sio.enter_room(sid, bound_sender_id(customer_id), namespace=namespace)
            await self.desk.presence(bound_sender_id(customer_id), present=True)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            customer_id = (await sio.get_session(sid, namespace=namespace)).get("customer_id")
            if not customer_id:
                return
            conversation_id = bound_sender_id(customer_id)
            await sio.leave_room(sid, conversation_id, namespace=namespace)
            # Another open tab of the same customer keeps them present.
            if not self.customer_is_connected(conversation_id):
                await self.desk.presence(conversation_id, present=False)

        async def conversation_of(sid: str) -> str:
            session = await sio.get_session(sid, namespace=namespace)
            return bound_sender_id(session["customer_id"])

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, _client_session: Any = None) -> None:
            await sio.emit("session_confirm", await conversation_of(sid), room=sid,
                           namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str):
                return
            await on_new_message(UserMessage(
                text,
                SignedSocketIOOutput(sio, self.bot_message_evt),
                await conversation_of(sid),
                input_channel=self.name(),
            ))

        return socketio_webhook
