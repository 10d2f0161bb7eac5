"""An agent whose console is gone longer than the grace period hands their chats back to
the front of the queue, and the customers are told."""

from __future__ import annotations

import asyncio

from tests.desk.conftest import DeskFactory, FakeRasa
from tests.desk_agent import eventually


async def test_a_chat_goes_back_to_the_front_of_the_queue_after_the_grace_period(
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    desk = await start_desk(agent_grace_seconds=0.3)
    lin = await desk.agent_at_console("agent")
    first = await desk.open_handoff("customer:C00001")
    await desk.open_handoff("customer:C00002")
    await lin.http.post(f"/api/agent/handoffs/{first['handoff_id']}/claim")
    await eventually(
        lambda: (
            fake_rasa.relayed_texts("customer:C00002") == ["You are now number 1 in the queue."]
        ),
        what="position notice",
    )

    await lin.disconnect()

    async def handed_back() -> bool:
        reply = await desk.service().get("/api/conversations/customer:C00001/handoff")
        return reply.json()["status"] == "queued"

    await eventually(handed_back, timeout=5, what="the chat back in the queue")
    status = (await desk.service().get("/api/conversations/customer:C00001/handoff")).json()
    assert (status["position"], status["agent_name"]) == (1, None)
    await eventually(lambda: len(fake_rasa.relayed()) == 4, what="the customers told")
    assert fake_rasa.relayed_texts("customer:C00001") == [
        "Lin has joined the chat.",
        "Your agent was disconnected; you are back at number 1 in the queue.",
    ]
    assert fake_rasa.relayed_texts("customer:C00002") == [
        "You are now number 1 in the queue.",
        "You are now number 2 in the queue.",
    ]


async def test_a_console_back_within_the_grace_period_keeps_its_chats(
    start_desk: DeskFactory,
) -> None:
    desk = await start_desk(agent_grace_seconds=0.5)
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff()
    await lin.http.post(f"/api/agent/handoffs/{opened['handoff_id']}/claim")

    await lin.disconnect()
    await asyncio.sleep(0.1)
    await lin.connect()
    await asyncio.sleep(0.8)

    status = (await desk.service().get("/api/conversations/customer:C00001/handoff")).json()
    assert status["status"] == "assigned"


async def test_a_second_tab_keeps_the_agent_available(start_desk: DeskFactory) -> None:
    desk = await start_desk(agent_grace_seconds=0.2)
    lin = await desk.agent_at_console("agent")
    second_tab = await desk.sign_in("agent")
    await second_tab.connect()
    opened = await desk.open_handoff()
    await lin.http.post(f"/api/agent/handoffs/{opened['handoff_id']}/claim")

    await lin.disconnect()
    await asyncio.sleep(0.5)

    status = (await desk.service().get("/api/conversations/customer:C00001/handoff")).json()
    assert status["status"] == "assigned"
    assert (await desk.open_handoff("customer:C00002"))["status"] == "queued"
