"""What a customer's message says, worked out off the Rasa server's event loop.

Rasa 3.6 runs its NLU pipeline inside its async message handling, in the event loop itself
(``MessageProcessor.parse_message`` runs the graph synchronously): while one message is
understood, no other conversation is served, no socket answered. On this machine a message of
2,000 characters (the most channels/limits.py lets through) held the loop about 0.4-0.5 s, a
short one about 0.1 s. Messages handed to Rasa through ``understood_off_loop`` are understood
first in a worker thread by the agent's own processor, and Rasa then takes that parse as the
message's own (``UserMessage.parse_data``), as it does for any message that comes parsed; the
NLU needs nothing of the conversation (no part of the model's NLU graph reads the tracker).

One worker thread per process: messages are understood one at a time, as they were in the loop,
so no NLU component runs twice at once; the loop meanwhile serves everything else, and the
numerical parts (the sentence encoder's matrix products) run beside it on another core. Should
the thread fail, Rasa understands the message itself, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa.core.channels.channel import UserMessage

logger = logging.getLogger(__name__)

MessageHandler = Callable[[UserMessage], Awaitable[Any]]

_NLU_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")


def _parse_in_worker(processor: Any, message: UserMessage) -> dict[str, Any]:
    # parse_message is a coroutine that awaits nothing without an NLU server: a loop of the
    # worker's own runs it.
    return asyncio.run(processor.parse_message(message))


async def understand(processor: Any, message: UserMessage) -> None:
    """Sets ``message.parse_data`` from ``processor``'s NLU run in the worker thread."""
    if message.parse_data or processor is None or processor.http_interpreter is not None:
        return
    try:
        message.parse_data = await asyncio.get_running_loop().run_in_executor(
            _NLU_WORKER, _parse_in_worker, processor, message
        )
    except Exception:  # Rasa parses it in the loop instead: slower for others, never lost
        logger.exception("understanding a message off the event loop failed")


def understood_off_loop(
    agent_of: Callable[[], Any], on_new_message: MessageHandler
) -> MessageHandler:
    """``on_new_message`` for messages already understood by the agent's processor off the loop
    (``agent_of`` gives the server's agent when a message arrives, or None before it has one)."""

    async def understand_then_handle(message: UserMessage) -> Any:
        agent = agent_of()
        await understand(getattr(agent, "processor", None), message)
        return await on_new_message(message)

    return understand_then_handle
