"""An agent whose console is gone longer than the grace period hands their chats back to
the front of the queue, and the customers are told.

Nothing here sleeps for a fixed time: each test waits until the desk shows what it waits for.
Where a chat must *not* be handed back, a colleague who leaves after the agent and stays away
is the witness: once the colleague's chat is back in the queue, the agent's grace period
(which started earlier and is as long) is over too.
"""

from __future__ import annotations

from typing import Any

from tests.desk.conftest import DeskFactory, FakeRasa, RunningDesk
from tests.desk_agent import eventually

# Long enough that a console reconnecting at once is always back in time on a busy machine;
# the tests wait for it only where an absence must run out.
GRACE_SECONDS = 1.0


async def handoff_status(desk: RunningDesk, conversation_id: str) -> dict[str, Any]:
    return (await desk.service().get(f"/api/conversations/{conversation_id}/handoff")).json()


async def back_in_the_queue(desk: RunningDesk, conversation_id: str) -> None:
    async def queued() -> bool:
        return (await handoff_status(desk, conversation_id))["status"] == "queued"

    await eventually(
        queued, timeout=GRACE_SECONDS + 10, what=f"{conversation_id} back in the queue"
    )


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

    await back_in_the_queue(desk, "customer:C00001")
    status = await handoff_status(desk, "customer:C00001")
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
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    desk = await start_desk(agent_grace_seconds=GRACE_SECONDS)
    lin = await desk.agent_at_console("agent")
    zhou = await desk.agent_at_console("cards")
    lins = await desk.open_handoff("customer:C00001", skill="security")
    zhous = await desk.open_handoff("customer:C00002", skill="bank")
    await lin.http.post(f"/api/agent/handoffs/{lins['handoff_id']}/claim")
    await zhou.http.post(f"/api/agent/handoffs/{zhous['handoff_id']}/claim")

    # Lin's console drops; only Lin serves security, so the desk sees the security queue
    # unattended once it has noticed, and Lin's grace period is running.
    await lin.disconnect()
    await eventually(
        lambda: not desk.desk.hub.serves_now("security"), what="the desk to notice Lin left"
    )
    await lin.connect()
    # Zhou leaves after Lin came back and stays away: the witness that a grace period ran out.
    await zhou.disconnect()
    await back_in_the_queue(desk, "customer:C00002")

    assert (await handoff_status(desk, "customer:C00001"))["status"] == "assigned"
    assert not any("disconnected" in text for text in fake_rasa.relayed_texts("customer:C00001"))


async def test_a_second_tab_keeps_the_agent_available(
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    desk = await start_desk(agent_grace_seconds=GRACE_SECONDS)
    lin = await desk.agent_at_console("agent")
    second_tab = await desk.sign_in("agent")
    await second_tab.connect()
    zhou = await desk.agent_at_console("cards")
    lins = await desk.open_handoff("customer:C00001", skill="security")
    zhous = await desk.open_handoff("customer:C00002", skill="bank")
    await lin.http.post(f"/api/agent/handoffs/{lins['handoff_id']}/claim")
    await zhou.http.post(f"/api/agent/handoffs/{zhous['handoff_id']}/claim")

    await lin.disconnect()
    # Zhou leaves after Lin's first tab closed: once Zhou's chat is back in the queue, a grace
    # period started by Lin's tab would have run out as well.
    await zhou.disconnect()
    await back_in_the_queue(desk, "customer:C00002")

    assert (await handoff_status(desk, "customer:C00001"))["status"] == "assigned"
    assert not any("disconnected" in text for text in fake_rasa.relayed_texts("customer:C00001"))
    assert desk.desk.hub.serves_now("security")
    assert (await desk.open_handoff("customer:C00003"))["status"] == "queued"
