"""Customers' messages are worked on a few at a time, in the order they arrived: a message with
several steps is answered soon after it is let in instead of waiting behind every other
conversation at each step, and nothing is dropped or answered out of turn."""

from __future__ import annotations

import asyncio
import time

import pytest

from channels.admission import MessageAdmission
from channels.rest import AnonymousRestInput, SignedRestInput
from channels.socketio import SignedSocketIOInput
from common.assistant_settings import MESSAGES_AT_ONCE, ChannelSettings, channel_settings
from common.environment import read_profile
from common.settings import SettingError


async def answer_times(admission: MessageAdmission, messages: int, steps: int) -> list[float]:
    """Seconds each message waited for its answer when all arrive at once. A step is work on
    the server's event loop (2 ms) followed by an await, as Rasa's handling of a message is:
    NLU's result taken, the policies, the action server's answer, the store."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def handle() -> float:
        async with admission.turn():
            for _ in range(steps):
                time.sleep(0.002)  # noqa: ASYNC251 - the work that holds the loop
                await asyncio.sleep(0)
        return loop.time() - started

    return sorted(await asyncio.gather(*(handle() for _ in range(messages))))


async def test_no_more_than_the_set_number_are_worked_on_at_once() -> None:
    admission = MessageAdmission(3)
    inside = 0
    most_inside = 0

    async def handle() -> None:
        nonlocal inside, most_inside
        async with admission.turn():
            inside += 1
            most_inside = max(most_inside, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(handle() for _ in range(20)))
    assert most_inside == 3


async def test_messages_are_let_in_in_the_order_they_arrived() -> None:
    admission = MessageAdmission(2)
    let_in: list[int] = []

    async def handle(number: int) -> None:
        async with admission.turn():
            let_in.append(number)
            await asyncio.sleep(0.005)

    await asyncio.gather(*(handle(number) for number in range(12)))
    assert let_in == list(range(12))


async def test_customers_who_write_at_once_are_answered_in_turn_not_all_at_the_end() -> None:
    # Forty messages of three steps each arrive together. Let in all at once, every message
    # waits behind all the others at each step and they are all answered near the end; let in
    # four at a time, half the customers have their answer in about half that time, and the
    # last one no later.
    all_at_once = await answer_times(MessageAdmission(40), messages=40, steps=3)
    few_at_a_time = await answer_times(MessageAdmission(4), messages=40, steps=3)
    assert len(few_at_a_time) == 40
    assert few_at_a_time[19] < 0.7 * all_at_once[19]
    assert few_at_a_time[0] < 0.25 * all_at_once[0]
    assert few_at_a_time[-1] < 1.2 * all_at_once[-1]


async def test_a_failed_message_lets_the_next_one_in() -> None:
    admission = MessageAdmission(1)
    with pytest.raises(RuntimeError):
        async with admission.turn():
            raise RuntimeError("the action server broke")
    await asyncio.wait_for(enter(admission), timeout=1)


async def enter(admission: MessageAdmission) -> None:
    async with admission.turn():
        pass


def test_every_channel_of_a_server_shares_one_gate_of_the_configured_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded = read_profile("embedded")
    settings = ChannelSettings.from_environment({**embedded, "CHANNEL_MESSAGES_AT_ONCE": "5"})
    assert settings.messages_at_once == 5
    assert ChannelSettings.from_environment(embedded).messages_at_once == MESSAGES_AT_ONCE

    # A web chat customer and a REST customer wait in the same line on one server.
    for name, value in {**embedded, "CHANNEL_MESSAGES_AT_ONCE": "5"}.items():
        monkeypatch.setenv(name, value)
    channel_settings.cache_clear()
    try:
        channels = [AnonymousRestInput(), SignedRestInput(), SignedSocketIOInput()]
        gates = {id(channel.desk.admission) for channel in channels}
        assert len(gates) == 1
        assert channels[0].desk.admission.at_once == 5
    finally:
        channel_settings.cache_clear()


def test_at_least_one_message_is_let_in() -> None:
    with pytest.raises(ValueError):
        MessageAdmission(0)
    with pytest.raises(SettingError, match="CHANNEL_MESSAGES_AT_ONCE"):
        ChannelSettings.from_environment(
            {**read_profile("embedded"), "CHANNEL_MESSAGES_AT_ONCE": "0"}
        )
