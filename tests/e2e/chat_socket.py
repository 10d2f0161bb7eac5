"""A customer on the socket.io channel, as the web chat widget speaks it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import socketio

from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET

# The first reply of a fresh Rasa server loads the model's pipeline; later ones are quick.
FIRST_REPLY_SECONDS = 90
QUIET_SECONDS = 2
GOODBYE_SECONDS = 10


def token_for(customer_id: str, secret: str = DEV_SIGNING_SECRET, seconds: int = 600) -> str:
    return issue_sign_in_token(customer_id, secret.encode(), seconds)


class ChatSocket:
    """A socket.io client speaking the rasa-webchat widget's events."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.bot_messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.session_confirms: asyncio.Queue[Any] = asyncio.Queue()
        self.client.on("bot_uttered", self.bot_messages.put_nowait)
        self.client.on("session_confirm", self.session_confirms.put_nowait)

    async def replies(self, first_within: float = FIRST_REPLY_SECONDS) -> list[dict[str, Any]]:
        """The bot messages that arrive until the bot has been quiet for a moment."""
        messages = [await asyncio.wait_for(self.bot_messages.get(), first_within)]
        while True:
            try:
                messages.append(await asyncio.wait_for(self.bot_messages.get(), QUIET_SECONDS))
            except asyncio.TimeoutError:
                return messages

    async def hang_up(self) -> None:
        """Says goodbye and closes, as a page being closed does. The client's own disconnect
        (python-engineio, long-polling: the widget's transport, and the only one this aiohttp
        lets the client upgrade from) returns only when its pending long-poll ends, which the
        server answers at its next ping, 25 s later; the server has the goodbye as soon as the
        client's write loop has sent it."""
        engine = self.client.eio
        sender = engine.write_loop_task
        goodbye = asyncio.ensure_future(self.client.disconnect())
        if sender is not None:
            await asyncio.wait({sender}, timeout=GOODBYE_SECONDS)
        goodbye.cancel()
        with suppress(asyncio.CancelledError):
            await goodbye
        if engine.http is not None and not engine.http.closed:
            await engine.http.close()


@asynccontextmanager
async def connected(url: str, **connect_options: Any) -> AsyncIterator[ChatSocket]:
    socket = ChatSocket()
    await socket.client.connect(
        url, socketio_path="/socket.io", transports=["polling"], wait_timeout=30, **connect_options
    )
    try:
        yield socket
    finally:
        await socket.hang_up()
