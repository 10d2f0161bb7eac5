"""Who is at the console right now, and live events to their browsers.

An agent counts as available while at least one console socket of theirs is open. When the
last one closes, a grace period starts; if they are not back by its end, `on_agent_gone`
hands their conversations back to the queue. Events are small JSON objects; each socket has a
bounded queue of its own so a slow browser never holds up a request of the desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from services.desk.models import serves

logger = logging.getLogger(__name__)

Event = dict[str, Any]
# A browser that falls this far behind is told to reload everything instead.
MAX_PENDING_EVENTS = 200
RESYNC: Event = {"type": "resync"}


class ConsoleSocket:
    def __init__(self, agent_id: str, skills: list[str]) -> None:
        self.agent_id = agent_id
        self.skills = skills
        self.events: asyncio.Queue[Event] = asyncio.Queue(MAX_PENDING_EVENTS)

    def offer(self, event: Event) -> None:
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            while not self.events.empty():
                self.events.get_nowait()
            self.events.put_nowait(RESYNC)


class LiveHub:
    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.on_agent_gone: Callable[[str], Awaitable[None]] | None = None
        self._sockets: dict[str, set[ConsoleSocket]] = {}
        self._grace_timers: dict[str, asyncio.Task[None]] = {}

    def connect(self, agent_id: str, skills: list[str]) -> ConsoleSocket:
        socket = ConsoleSocket(agent_id, skills)
        self._sockets.setdefault(agent_id, set()).add(socket)
        timer = self._grace_timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()
        return socket

    def disconnect(self, socket: ConsoleSocket) -> None:
        sockets = self._sockets.get(socket.agent_id, set())
        sockets.discard(socket)
        if not sockets:
            self._sockets.pop(socket.agent_id, None)
            self.watch_absent(socket.agent_id)

    def watch_absent(self, agent_id: str) -> None:
        """Starts the grace period of an agent who is not at the console."""
        if agent_id in self._sockets or agent_id in self._grace_timers:
            return
        self._grace_timers[agent_id] = asyncio.create_task(self._expire(agent_id))

    async def _expire(self, agent_id: str) -> None:
        await asyncio.sleep(self.grace_seconds)
        self._grace_timers.pop(agent_id, None)
        if agent_id in self._sockets or self.on_agent_gone is None:
            return
        try:
            await self.on_agent_gone(agent_id)
        except Exception:  # the next disconnect or start-up tries again
            logger.exception("could not hand back the conversations of agent %s", agent_id)

    def serves_now(self, skill: str) -> bool:
        """Whether an agent who serves this skill is at the console now."""
        return any(
            serves(socket.skills, skill) for sockets in self._sockets.values() for socket in sockets
        )

    def publish(
        self, event: Event, agent_ids: Iterable[str] = (), skill: str | None = None
    ) -> None:
        """To the named agents and to everyone serving `skill`; to all when neither is given."""
        named = set(agent_ids)
        everyone = not named and skill is None
        for agent_id, sockets in self._sockets.items():
            for socket in sockets:
                if (
                    everyone
                    or agent_id in named
                    or (skill is not None and serves(socket.skills, skill))
                ):
                    socket.offer(event)

    async def close(self) -> None:
        timers = list(self._grace_timers.values())
        self._grace_timers.clear()
        for timer in timers:
            timer.cancel()
        for timer in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await timer
