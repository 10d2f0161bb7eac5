"""REST channels: anonymous conversations, and conversations of a signed-in customer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.exceptions import SanicException
from sanic.request import Request

from channels.customer_binding import (
    BOUND_SENDER_PREFIX,
    InvalidSignInToken,
    bound_sender_id,
    verify_sign_in_token,
)
from channels.desk_forwarding import DeskForwarding


class DeskForwardingRestInput(RestInput):
    """Rasa's REST channel whose messages reach the agent desk while a person has the chat.
    REST cannot push, so an agent's replies wait in the tracker (see channels/README.md)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        desk = DeskForwarding()
        blueprint = super().blueprint(desk.wrap(on_new_message))
        desk.attach(blueprint)
        return blueprint


class AnonymousRestInput(DeskForwardingRestInput):
    """Rasa's REST channel, minus the ways a client could pass for a signed-in customer."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    async def _extract_sender(self, req: Request) -> str | None:
        sender = (req.json or {}).get("sender")
        if isinstance(sender, str) and sender.startswith(BOUND_SENDER_PREFIX):
            raise SanicException("sign in through the signed_rest channel", status_code=403)
        return sender

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return None


class SignedRestInput(DeskForwardingRestInput):
    """REST for a signed-in customer: `Authorization: Bearer <sign-in token>`.

    The conversation belongs to the customer named in the verified token; the request's
    `sender` field is ignored.
    """

    @classmethod
    def name(cls) -> str:
        return "signed_rest"

    async def _extract_sender(self, req: Request) -> str:
        scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SanicException("sign-in token required", status_code=401)
        try:
            return bound_sender_id(verify_sign_in_token(token.strip()))
        except InvalidSignInToken as error:
            raise SanicException("invalid sign-in token", status_code=401) from error

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return None
