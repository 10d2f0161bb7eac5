"""What the clients of the project's own services share: one HTTP client per event loop that
sends the service's secret with every call.

One client per event loop because its connections belong to the loop that opened them, and
callers run in different loops (the action server's, the Rasa server's, the desk's); and built
once per loop, not per call, because a new client loads the CA bundle synchronously (tens of
milliseconds of blocked loop).
"""

from __future__ import annotations

import asyncio
import weakref

import httpx


class ServiceHttpClient:
    # Each service's client says how long its calls may take unless its caller says otherwise.
    default_timeout_seconds: float = 5.0

    def __init__(
        self,
        base_url: str,
        service_secret: str,
        *,
        timeout_seconds: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = service_secret
        self._timeout = timeout_seconds or self.default_timeout_seconds
        self._transport = transport
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                headers={"Authorization": f"Bearer {self._secret}"},
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Closes the client of the running event loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
