"""A long message is understood without stalling the Rasa server for everyone else: the NLU
runs off the event loop, Rasa takes its parse as given, and a failure there only means Rasa
understands the message itself, as before.

The processor here stands in for Rasa's: its parse_message runs the NLU synchronously inside
a coroutine, as Rasa 3.6's does (0.3 s here, about what a 2,000-character message takes).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rasa.core.channels.channel import UserMessage

from channels.understanding import understood_off_loop

NLU_SECONDS = 0.3


class BlockingProcessor:
    http_interpreter = None

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.parsed: list[str] = []

    async def parse_message(self, message: UserMessage) -> dict[str, Any]:
        if self.fails:
            raise RuntimeError("the NLU broke")
        return self._run_the_nlu_graph(message)

    def _run_the_nlu_graph(self, message: UserMessage) -> dict[str, Any]:
        time.sleep(NLU_SECONDS)
        self.parsed.append(message.text or "")
        return {"text": message.text, "intent": {"name": "bank_freeze_card"}, "entities": []}


async def longest_stall_while(work: Any) -> float:
    """The longest the event loop went without serving a 5 ms timer while ``work`` ran."""
    longest = 0.0
    done = asyncio.Event()

    async def timer() -> None:
        nonlocal longest
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            longest = max(longest, time.perf_counter() - started - 0.005)

    ticking = asyncio.create_task(timer())
    await asyncio.sleep(0.02)
    await work
    done.set()
    await ticking
    return longest


async def test_a_slow_nlu_leaves_the_event_loop_free_and_rasa_takes_its_parse() -> None:
    processor = BlockingProcessor()
    handled: list[UserMessage] = []

    async def rasa_handles(message: UserMessage) -> None:
        handled.append(message)

    handle = understood_off_loop(lambda: type("Agent", (), {"processor": processor}), rasa_handles)
    stall = await longest_stall_while(handle(UserMessage("freeze my card " * 130, sender_id="a")))
    assert stall < NLU_SECONDS / 3, f"the loop stalled {stall:.3f} s"
    assert handled[0].parse_data["intent"]["name"] == "bank_freeze_card"
    assert len(processor.parsed) == 1


async def test_a_failing_nlu_thread_leaves_the_message_to_rasa() -> None:
    handled: list[UserMessage] = []

    async def rasa_handles(message: UserMessage) -> None:
        handled.append(message)

    processor = BlockingProcessor(fails=True)
    handle = understood_off_loop(lambda: type("Agent", (), {"processor": processor}), rasa_handles)
    await handle(UserMessage("hello", sender_id="a"))
    assert len(handled) == 1 and not handled[0].parse_data


async def test_before_a_model_is_loaded_messages_go_to_rasa_as_they_are() -> None:
    handled: list[UserMessage] = []

    async def rasa_handles(message: UserMessage) -> None:
        handled.append(message)

    await understood_off_loop(lambda: None, rasa_handles)(UserMessage("hi", sender_id="a"))
    assert len(handled) == 1 and not handled[0].parse_data
