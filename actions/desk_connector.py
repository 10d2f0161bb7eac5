"""The handoff connector for the project's own agent desk (services/desk)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any
from urllib.parse import quote

import httpx

from actions.handoff_connector import HandoffOutcome, HandoffRequest, HandoffUnavailable

DEFAULT_DESK_URL = "http://127.0.0.1:5300"
DEFAULT_TIMEOUT_SECONDS = 5.0


class DeskConnector:
    def __init__(self, base_url: str | None = None, service_secret: str | None = None,
                 timeout_seconds: float | None = None) -> None:
        self.base_url = (base_url or os.environ.get("DESK_URL") or DEFAULT_DESK_URL).rstrip("/")
        self._secret = service_secret or os.environ.get("DESK_SERVICE_SECRET", "")
        self._timeout = timeout_seconds or float(
            os.environ.get("DESK_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._secret}"}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                return await client.post(f"{self.base_url}{path}", json=body, headers=headers)
        except httpx.HTTPError as error:
            raise HandoffUnavailable(f"desk unreachable: {error!r}") from error

    async def open_handoff(self, request: HandoffRequest) -> HandoffOutcome:
        reply = await self._post("/api/handoffs", dataclasses.asdict(request))
        if reply.status_code != 200:
            raise HandoffUnavailable(f"desk answered {reply.status_code}: {reply.text[:200]}")
        content = reply.json()
        return HandoffOutcome(
            status=content["status"],
            position=content.get("position"),
            ticket_reason=content.get("ticket_reason"),
            callback_due_at=content.get("callback_due_at"),
            opens_at=content.get("opens_at"),
        )

    async def record_rating(self, conversation_id: str, rating: int) -> None:
        path = f"/api/conversations/{quote(conversation_id, safe='')}/rating"
        reply = await self._post(path, {"rating": rating})
        if reply.status_code not in (200, 201, 202):
            raise HandoffUnavailable(f"desk answered {reply.status_code} to a rating")
