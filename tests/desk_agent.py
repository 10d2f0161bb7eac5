"""An agent of the desk as the tests drive one: signed in through the console's form, with the
session cookie for the agents' API and a real console websocket (an open console is what makes
an agent available)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from services.desk.auth import SESSION_COOKIE


async def eventually(
    check: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
) -> Any:
    """Polls `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class AgentSession:
    """A signed-in agent: an HTTP client with the session cookie, and a console socket."""

    http: httpx.AsyncClient
    cookie: str
    ws_url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    socket: Any = None
    reader: asyncio.Task[None] | None = None

    async def connect(self) -> AgentSession:
        self.socket = await websockets.connect(
            self.ws_url, extra_headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"}
        )
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.socket:
                self.events.append(json.loads(raw))

    async def disconnect(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            if self.reader is not None:
                await self.reader
            self.socket = None

    async def close(self) -> None:
        await self.disconnect()
        await self.http.aclose()

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]


async def signed_in_agent(desk_url: str, username: str, password: str) -> AgentSession:
    """Signs in through the console's form; the session is not yet at the console."""
    async with httpx.AsyncClient(base_url=desk_url) as browser:
        reply = await browser.post(
            "/console/login", data={"username": username, "password": password}
        )
    assert reply.status_code == 303, reply.text
    cookie = reply.cookies[SESSION_COOKIE]
    http = httpx.AsyncClient(
        base_url=desk_url, timeout=30, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )
    ws_url = desk_url.replace("http://", "ws://", 1) + "/console/ws"
    return AgentSession(http, cookie, ws_url)
