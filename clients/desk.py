"""The one client for the agent desk's service API (services/desk), with one error type.

The action server opens handoffs and records ratings through it (actions/desk_connector.py);
the Rasa server's channels pass on the customer's messages and presence while a person has the
conversation (channels/desk_forwarding.py), and the relay checks each message it is asked to
deliver against what the desk really sent (channels/handoff_relay.py). Every call carries the
desk's service secret; the caller passes the address, secret and timeout from its own settings
object.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from clients.service_http import ServiceHttpClient

DEFAULT_TIMEOUT_SECONDS = 5.0


class DeskError(Exception):
    """The desk could not be reached (``status`` None) or did not accept the call."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DeskClient(ServiceHttpClient):
    default_timeout_seconds = DEFAULT_TIMEOUT_SECONDS

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self._request("POST", path, body)

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        try:
            reply = await self._client().request(method, f"{self.base_url}{path}", json=body)
        except httpx.HTTPError as error:
            raise DeskError(f"desk unreachable: {error!r}") from error
        if not reply.is_success:
            raise DeskError(
                f"desk answered {reply.status_code}: {reply.text[:200]}", reply.status_code
            )
        return reply

    async def open_handoff(self, request: dict[str, Any]) -> dict[str, Any]:
        """Queues the conversation for agents (idempotent per conversation); the desk's answer:
        ``status`` (queued, assigned, ticket), ``position``, ``ticket_reason``, ..."""
        return dict((await self._post("/api/handoffs", request)).json())

    async def record_rating(self, conversation_id: str, rating: int) -> None:
        await self._post(f"{_conversation(conversation_id)}/rating", {"rating": rating})

    async def customer_message(
        self, conversation_id: str, message_id: str, text: str, timestamp: float
    ) -> None:
        """A message the customer sent while a person has the conversation."""
        await self._post(
            f"{_conversation(conversation_id)}/customer-messages",
            {"message_id": message_id, "text": text, "timestamp": timestamp},
        )

    async def presence(self, conversation_id: str, present: bool) -> None:
        """The customer opened or closed the chat."""
        await self._post(f"{_conversation(conversation_id)}/presence", {"present": present})

    async def sent_message(self, message_id: str) -> dict[str, Any] | None:
        """What the desk sent under ``message_id`` (conversation_id, kind, agent_name, text);
        None when the desk sent no such message."""
        try:
            reply = await self._request("GET", f"/api/sent-messages/{quote(message_id, safe='')}")
        except DeskError as error:
            if error.status == 404:
                return None
            raise
        return dict(reply.json())


def _conversation(conversation_id: str) -> str:
    return f"/api/conversations/{quote(conversation_id, safe='')}"
