"""REST channels: anonymous conversations, and conversations of a signed-in customer.

Both take ``{"sender": "...", "message": "..."}`` and answer the assistant's replies as a JSON
list, like Rasa's REST channel, but every message passes through CustomerMessages first
(redaction, size and rate limits). A body that is not a JSON object with a string message
gets 400; a refused message gets 429 with Retry-After and ``{"error", "message",
"retry_after_seconds"}``; a message whose handling failed before anything was said gets 503
with Retry-After and the same keys, to be sent again.
"""

from __future__ import annotations

import json
import logging
import math
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.admission import message_admission
from channels.customer_messages import CustomerMessages
from channels.desk_forwarding import DeskForwarding
from channels.limits import client_address
from channels.log_privacy import install_log_privacy
from channels.sessions import revoked_tokens
from common.assistant_settings import channel_settings
from common.customer_binding import (
    BOUND_SENDER_PREFIX,
    InvalidSignInToken,
    SignInClaims,
    bound_sender_id,
    verify_sign_in_claims,
)

logger = logging.getLogger(__name__)

SIGN_OUT_PATH = "/sign_out"


class RequestRefused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def response(self) -> HTTPResponse:
        return response.json({"error": self.error, "message": self.message}, status=self.status)


def request_body(request: Request) -> dict[str, Any]:
    """The JSON object the request carries; Sanic's request.json also accepts lists,
    strings and null, and raises on malformed JSON."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise RequestRefused(
            400, "bad_request", 'the body must be a JSON object: {"sender": ..., "message": ...}'
        )
    return body


# How long a client waits before sending again a message that could not be answered: the
# stores' own retries last about 4 s, and a restarted Redis or database is back within seconds.
RETRY_AFTER_FAILURE_SECONDS = 2
FAILURE_REPLY = "Sorry, I could not answer that just now. Please send it again in a moment."


def answer_after_failure(said: list[dict[str, Any]]) -> HTTPResponse:
    """The reply when handling a message failed part-way: what the assistant had already said,
    or, when it had said nothing, 503 with Retry-After, so a client can tell "not handled,
    send it again" from "nothing to say" (an empty 200 hid 47 lost messages in a fault run)."""
    if said:
        return response.json(said)
    return response.json(
        {
            "error": "unavailable",
            "message": FAILURE_REPLY,
            "retry_after_seconds": RETRY_AFTER_FAILURE_SECONDS,
        },
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_FAILURE_SECONDS)},
    )


class CustomerRestInput(InputChannel):
    """A REST channel for customers; subclasses say who the sender is."""

    def __init__(self) -> None:
        # Read as the Rasa server builds its channels, so a missing or dev-only secret stops
        # it at start.
        self.settings = channel_settings()
        self.messages = CustomerMessages(self.settings)
        self.desk = DeskForwarding(
            self.settings.desk, message_admission(self.settings.messages_at_once)
        )

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    async def sender_of(self, request: Request, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def attach_routes(self, blueprint: Blueprint) -> None:
        """Routes a channel adds besides the webhook."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Here, not at import: only the Rasa server builds the channels' blueprints.
        install_log_privacy()
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        self.desk.attach(webhook)
        deliver_to_rasa = self.desk.wrap(on_new_message)
        self.attach_routes(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request_body(request)
                sender_id = await self.sender_of(request, body)
                text = body.get("message")
                if not isinstance(text, str):
                    raise RequestRefused(400, "bad_request", "message must be a string")
            except RequestRefused as refused:
                return refused.response()
            collector = CollectingOutputChannel()
            try:
                refusal = await self.messages.deliver(
                    deliver_to_rasa,
                    text,
                    collector,
                    sender_id,
                    self.name(),
                    client_address(request),
                )
            except CancelledError:
                logger.error("%s: answering a message timed out", self.name())
                return answer_after_failure(collector.messages)
            except Exception:  # what was said so far, or a 503 to resend; never a 500
                logger.exception("%s: answering a message failed", self.name())
                return answer_after_failure(collector.messages)
            if refusal is not None:
                wait = max(1, math.ceil(refusal.retry_after_seconds))
                return response.json(
                    {
                        "error": refusal.reason,
                        "message": self.messages.refusal_reply(refusal),
                        "retry_after_seconds": wait,
                    },
                    status=429,
                    headers={"Retry-After": str(wait)},
                )
            return response.json(collector.messages)

        return webhook


class AnonymousRestInput(CustomerRestInput):
    """REST for anyone, minus the ways a client could pass for a signed-in customer."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    async def sender_of(self, request: Request, body: dict[str, Any]) -> str:
        sender = body.get("sender")
        # Rasa's REST channel files messages without a sender in one conversation, "default",
        # shared by every such client.
        if not isinstance(sender, str) or not sender.strip():
            raise RequestRefused(400, "bad_request", "sender must be a non-empty string")
        if sender.startswith(BOUND_SENDER_PREFIX):
            raise RequestRefused(403, "forbidden", "sign in through the signed_rest channel")
        return sender


class SignedRestInput(CustomerRestInput):
    """REST for a signed-in customer: `Authorization: Bearer <sign-in token>`.

    The conversation belongs to the customer named in the verified token; the request's
    `sender` field is ignored. ``POST /webhooks/signed_rest/sign_out`` with the same header
    revokes the token and closes the customer's sockets opened with it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.revoked = revoked_tokens(self.settings.rate_limit_redis_url)

    @classmethod
    def name(cls) -> str:
        return "signed_rest"

    async def verified_claims(self, request: Request) -> SignInClaims:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RequestRefused(401, "unauthorised", "sign-in token required")
        try:
            claims = verify_sign_in_claims(token.strip(), self.settings.signing_secret)
        except InvalidSignInToken as error:
            raise RequestRefused(401, "unauthorised", "invalid sign-in token") from error
        if await self.revoked.is_revoked(claims.token_id):
            raise RequestRefused(401, "unauthorised", "this sign-in has ended")
        return claims

    async def sender_of(self, request: Request, body: dict[str, Any]) -> str:
        return bound_sender_id((await self.verified_claims(request)).customer_id)

    def attach_routes(self, blueprint: Blueprint) -> None:
        @blueprint.route(SIGN_OUT_PATH, methods=["POST"])
        async def sign_out(request: Request) -> HTTPResponse:
            try:
                claims = await self.verified_claims(request)
            except RequestRefused as refused:
                return refused.response()
            await self.revoked.revoke(claims.token_id, claims.expires_at)
            closed = 0
            for channel in getattr(request.app.ctx, "input_channels", None) or []:
                end_sessions = getattr(channel, "end_sessions_of_token", None)
                if end_sessions is not None:
                    closed += await end_sessions(claims.token_id)
            logger.info("signed_rest: a sign-in token was revoked, %d socket(s) closed", closed)
            return response.json({"signed_out": True, "sockets_closed": closed})
