"""Calls from the Rasa server to the action server over connections kept open between calls.

Rasa 3.6 makes a new aiohttp ClientSession for every request to an endpoint
(``EndpointConfig.request`` enters ``self.session()`` and closes it after one answer): every
action call opened a TCP connection to the action server, which accepted it and set up its
HTTP state, and both tore it down after one answer. Here each endpoint keeps one session per
event loop, with Rasa's own settings (headers, basic auth, total timeout), and its connector
keeps idle connections for reuse.

An idle connection is given up well before a server would close it (the action server's Sanic
after 5 s, HAProxy in the scale-out profile after its client timeout), so a request is never
sent on a connection the server is closing at that moment; a connection closed by a server
that stopped is noticed by the connector when it closes and not handed out again.
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType
from typing import Any

import aiohttp
from rasa.utils.endpoints import EndpointConfig

# Below Sanic's default keep-alive timeout (5 s), the shortest of the servers the Rasa server
# calls through an EndpointConfig.
IDLE_CONNECTION_SECONDS = 2.0

_RASAS_SESSION = EndpointConfig.session
_KEPT = "_kept_sessions"


class _KeptSession:
    """What ``async with endpoint.session()`` enters: the kept session, left open on exit."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def _session_kept_per_loop(self: EndpointConfig) -> Any:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop to keep a session for: Rasa's own, closed after use
        return _RASAS_SESSION(self)
    kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]
    kept = self.__dict__.setdefault(_KEPT, weakref.WeakKeyDictionary())
    session = kept.get(loop)
    if session is None or session.closed:
        rasas = _RASAS_SESSION(self)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
            headers=rasas.headers,
            auth=rasas.auth,
            timeout=rasas.timeout,
        )
        # Rasa's session was never used: closing it only releases its own connector.
        asyncio.ensure_future(rasas.close())
        kept[loop] = session
    return _KeptSession(session)


def keep_action_server_connections() -> None:
    """Installs the kept sessions in the Rasa server (the channels call it when Rasa loads
    them)."""
    EndpointConfig.session = _session_kept_per_loop
