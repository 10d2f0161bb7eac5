"""The desk's calls to the Rasa server: relay a message, resume the bot, read a tracker."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

# Answers that will not change however often the call is repeated.
REFUSED_FOR_GOOD = frozenset({400, 404, 413, 422})


# Characters a URL path may carry unencoded (RFC 3986 pchar minus '/').
PATH_SAFE = ":@!$&'()*+,;=-._~"


class RasaUnavailable(Exception):
    """Rasa did not take the call now; the same call may go through later."""


class RasaRefused(Exception):
    """Rasa will never take this call as it is."""


class RasaClient:
    def __init__(
        self, base_url: str, service_secret: str, api_token: str, timeout_seconds: float
    ) -> None:
        self._service_secret = service_secret
        self._api_token = api_token
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0)),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            reply = await self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise RasaUnavailable(repr(error)) from error
        if reply.status_code in REFUSED_FOR_GOOD:
            raise RasaRefused(f"{method} {path}: {reply.status_code} {reply.text[:200]}")
        if reply.status_code >= 300:
            raise RasaUnavailable(f"{method} {path}: {reply.status_code} {reply.text[:200]}")
        return reply

    def _conversation(self, conversation_id: str) -> str:
        # Rasa's routes take the conversation id from the path without unquoting it, so the
        # characters a path segment allows as they are must stay as they are.
        return f"/conversations/{quote(conversation_id, safe=PATH_SAFE)}"

    async def relay(self, message: dict[str, Any]) -> str | None:
        """Delivers a message to the customer; returns what Rasa says it did with it."""
        reply = await self._call(
            "POST",
            "/webhooks/handoff/relay",
            json=message,
            headers={"Authorization": f"Bearer {self._service_secret}"},
        )
        try:
            delivery = reply.json().get("delivery")
        except (ValueError, AttributeError):
            return None
        return delivery if isinstance(delivery, str) else None

    async def resume(self, conversation_id: str) -> None:
        await self._call(
            "POST",
            f"{self._conversation(conversation_id)}/tracker/events",
            params={"token": self._api_token},
            json=[{"event": "resume"}],
        )

    async def trigger_intent(self, conversation_id: str, intent: dict[str, Any]) -> None:
        await self._call(
            "POST",
            f"{self._conversation(conversation_id)}/trigger_intent",
            params={"output_channel": "latest", "token": self._api_token},
            json=intent,
        )

    async def user_messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """The customer's messages in the conversation's tracker, oldest first."""
        reply = await self._call(
            "GET",
            f"{self._conversation(conversation_id)}/tracker",
            params={"token": self._api_token},
        )
        try:
            events = reply.json().get("events") or []
        except (ValueError, AttributeError) as error:
            raise RasaUnavailable("tracker is not JSON") from error
        return [
            event for event in events if isinstance(event, dict) and event.get("event") == "user"
        ]
