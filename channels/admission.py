"""How many customers' messages one Rasa server works on at once; the others wait in arrival order.

Rasa starts on every message the moment it arrives and interleaves all of them at each await
(the NLU's result, the action server's answer, the tracker store). Every message then waits
behind every other one at each of its steps, and the messages with the most steps (an
operation and then the satisfaction question, a form's check and then its question) wait the
longest. Let in a few at a time, in order of arrival, a message is worked on to its end soon
after it is let in, and every message waits about as long as the others: the server does the
same work, so the average stays, and the slowest answers come sooner. At 50 open conversations
on this machine (`bench.latency --concurrency 50`, one run each): p99 2.5 s with every
message let in, 1.7 s with 4 or 8 at a time, 2.0 s with 16; messages a second the same.
Not one at a time: while a message waits for the action server or the store the server works
on another, and the gate bounds a server's throughput at `at_once` divided by a message's time
in the server, so a slow back end needs a larger gate. `CHANNEL_MESSAGES_AT_ONCE` sets it
(common/assistant_settings.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import AsyncIterator


class MessageAdmission:
    """A first-come, first-served gate for the messages one process works on at once."""

    def __init__(self, at_once: int) -> None:
        if at_once < 1:
            raise ValueError("at least one message must be let in at a time")
        self.at_once = at_once
        # One gate per event loop: a semaphore belongs to the loop it first waits in.
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Waits until the message is let in, and lets the next one in when it is done."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.at_once)
        async with gate:
            yield


@functools.cache
def message_admission(at_once: int) -> MessageAdmission:
    """The process's gate: every channel of one Rasa server shares it."""
    return MessageAdmission(at_once)
