"""Customer messages the desk missed (it was down, or forwarding failed) come from the
conversation's tracker in Rasa."""

from __future__ import annotations

import time

from tests.desk.conftest import DeskFactory, FakeRasa, RunningDesk
from tests.desk_agent import eventually

CONVERSATION = "customer:C00001"


async def customer_lines(desk: RunningDesk, handoff_id: str, agent: str = "agent") -> list[str]:
    lin = await desk.sign_in(agent)
    detail = (await lin.http.get(f"/api/agent/handoffs/{handoff_id}")).json()
    return [line["text"] for line in detail["transcript"] if line["author"] == "customer"]


async def test_a_message_missing_at_the_desk_is_read_from_the_tracker(
    desk: RunningDesk, fake_rasa: FakeRasa
) -> None:
    lin = await desk.agent_at_console("agent")
    handoff_id = (await desk.open_handoff(CONVERSATION))["handoff_id"]
    await lin.http.post(f"/api/agent/handoffs/{handoff_id}/claim")
    # Before the handoff (already in its transcript, or not the agent's business).
    fake_rasa.customer_said(
        CONVERSATION, f"{CONVERSATION}-m1", "someone took money from my card", time.time() - 20
    )
    fake_rasa.customer_said(CONVERSATION, "old", "an old message", time.time() - 3600)
    fake_rasa.customer_said(CONVERSATION, "rasa-7", "I'm still here, hello?")

    live = await eventually(
        lambda: [
            event
            for event in lin.events_of("message")
            if event["message"]["text"] == "I'm still here, hello?"
        ],
        what="the missed message pushed to the console",
    )
    assert live[0]["handoff_id"] == handoff_id
    # Forwarded later as well: still stored once.
    await desk.service().post(
        f"/api/conversations/{CONVERSATION}/customer-messages",
        json={"message_id": "rasa-7", "text": "I'm still here, hello?", "timestamp": time.time()},
    )
    assert await customer_lines(desk, handoff_id) == [
        "someone took money from my card",
        "I'm still here, hello?",
    ]


async def test_rasa_being_unreachable_is_tried_again_quietly(
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    await fake_rasa.stop()
    desk = await start_desk()
    await desk.agent_at_console("agent")
    handoff_id = (await desk.open_handoff(CONVERSATION))["handoff_id"]
    fake_rasa.customer_said(CONVERSATION, "rasa-8", "hello?")
    assert await customer_lines(desk, handoff_id) == ["someone took money from my card"]

    await fake_rasa.start()

    async def caught_up() -> bool:
        return "hello?" in await customer_lines(desk, handoff_id)

    await eventually(caught_up, what="the message after Rasa came back")
