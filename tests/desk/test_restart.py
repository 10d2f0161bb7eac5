"""Everything the desk knows survives a restart: the queue, and what it still owes Rasa."""

from __future__ import annotations

from tests.desk.conftest import DeskFactory, FakeRasa
from tests.desk_agent import eventually

CONVERSATION = "customer:C00001"


async def test_a_new_desk_on_the_same_database_has_the_queue_and_the_outbox(
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    before = await start_desk(agent_grace_seconds=60)
    lin = await before.agent_at_console("agent")
    mine = (await before.open_handoff(CONVERSATION))["handoff_id"]
    waiting = (await before.open_handoff("customer:C00002"))["handoff_id"]
    await lin.http.post(f"/api/agent/handoffs/{mine}/claim")
    await eventually(lambda: len(fake_rasa.relayed()) == 2, what="notices")
    await fake_rasa.stop()
    reply = await lin.http.post(
        f"/api/agent/handoffs/{mine}/messages", json={"text": "One moment, please."}
    )
    assert reply.status_code == 200
    await before.stop()

    await fake_rasa.start()
    after = await start_desk(agent_grace_seconds=60)
    lin_again = await after.agent_at_console("agent")

    overview = (await lin_again.http.get("/api/agent/queue")).json()
    assert [item["handoff_id"] for item in overview["queue"]] == [waiting]
    assert [item["handoff_id"] for item in overview["mine"]] == [mine]
    await eventually(
        lambda: fake_rasa.relayed_texts(CONVERSATION)[-1:] == ["One moment, please."],
        what="the undelivered message delivered",
    )
    assert fake_rasa.relayed_texts(CONVERSATION).count("One moment, please.") == 1
    again = await after.open_handoff(CONVERSATION)
    assert (again["handoff_id"], again["status"]) == (mine, "assigned")


async def test_an_agent_who_never_comes_back_after_a_restart_hands_back_their_chats(
    start_desk: DeskFactory,
) -> None:
    before = await start_desk()
    lin = await before.agent_at_console("agent")
    mine = (await before.open_handoff(CONVERSATION))["handoff_id"]
    await lin.http.post(f"/api/agent/handoffs/{mine}/claim")
    await before.stop()

    after = await start_desk(agent_grace_seconds=0.2)

    async def handed_back() -> bool:
        status = await after.service().get(f"/api/conversations/{CONVERSATION}/handoff")
        return status.json()["status"] == "queued"

    await eventually(handed_back, what="the chat back in the queue")
