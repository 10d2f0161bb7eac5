"""The Rasa server calls the action server over connections kept open between calls, with
Rasa's own headers, and a server that stopped and came back is reached again at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from channels.action_connections import keep_action_server_connections


class CountingServer:
    """An action-server stand-in that notes each call's client address (one a connection)."""

    def __init__(self) -> None:
        self.client_addresses: list[tuple[str, int]] = []
        self.authorizations: list[str | None] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _webhook(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        self.client_addresses.append(request.transport.get_extra_info("peername"))
        self.authorizations.append(request.headers.get("Authorization"))
        return web.json_response({"events": [], "responses": []})

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/webhook", self._webhook)
        self.runner = web.AppRunner(app, keepalive_timeout=5.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    keep_action_server_connections()
    counting = CountingServer()
    await counting.start()
    yield counting
    await counting.stop()


def endpoint(port: int) -> EndpointConfig:
    return EndpointConfig(
        f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer action-token"}
    )


async def test_ten_action_calls_share_one_connection_and_carry_the_token(
    server: CountingServer,
) -> None:
    action_server = endpoint(server.port)
    for _ in range(10):
        assert await action_server.request(json={"next_action": "x"}) == {
            "events": [],
            "responses": [],
        }
    assert len(set(server.client_addresses)) == 1
    assert server.authorizations == ["Bearer action-token"] * 10


async def test_calls_reach_an_action_server_that_restarted(server: CountingServer) -> None:
    action_server = endpoint(server.port)
    await action_server.request(json={"next_action": "x"})
    await server.stop()
    await server.start(server.port)
    await asyncio.sleep(0.05)
    assert await action_server.request(json={"next_action": "x"}) == {
        "events": [],
        "responses": [],
    }
    assert server.authorizations == ["Bearer action-token"] * 2
