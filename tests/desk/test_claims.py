"""Claiming a waiting conversation: exactly one of two agents gets it, on SQLite and on
PostgreSQL, and the customers are told what changed for them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.desk.conftest import DeskFactory, FakeRasa, postgres_url, sqlite_url
from tests.desk_agent import eventually


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path) if request.param == "sqlite" else postgres_url()


async def test_two_agents_claiming_at_once_get_one_200_and_one_409(
    start_desk: DeskFactory, database_url: str
) -> None:
    desk = await start_desk(database_url)
    lin = await desk.agent_at_console("agent")
    zhou = await desk.agent_at_console("cards")
    for round_number in range(5):
        opened = await desk.open_handoff(f"customer:C0000{round_number}", skill="bank")
        path = f"/api/agent/handoffs/{opened['handoff_id']}/claim"

        replies = await asyncio.gather(lin.http.post(path), zhou.http.post(path))

        assert sorted(reply.status_code for reply in replies) == [200, 409]
        winner = next(reply for reply in replies if reply.status_code == 200).json()
        holder = lin if winner["agent_name"] == "Lin" else zhou
        mine = (await holder.http.get("/api/agent/queue")).json()["mine"]
        assert opened["handoff_id"] in [item["handoff_id"] for item in mine]


async def test_asking_twice_at_once_opens_one_handoff(
    start_desk: DeskFactory, database_url: str
) -> None:
    desk = await start_desk(database_url)
    await desk.agent_at_console("agent")
    first, second = await asyncio.gather(desk.open_handoff(), desk.open_handoff())
    assert first["handoff_id"] == second["handoff_id"]


async def test_a_claim_tells_the_customer_who_joined_and_the_others_their_new_place(
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    desk = await start_desk()
    lin = await desk.agent_at_console("agent")
    first = await desk.open_handoff("customer:C00001")
    await desk.open_handoff("customer:C00002")
    await desk.open_handoff("customer:C00003")
    assert fake_rasa.relayed() == []  # the assistant told them their place itself

    reply = await lin.http.post(f"/api/agent/handoffs/{first['handoff_id']}/claim")
    assert reply.status_code == 200

    await eventually(lambda: len(fake_rasa.relayed()) == 3, what="three notices")
    assert fake_rasa.relayed_texts("customer:C00001") == ["Lin has joined the chat."]
    assert fake_rasa.relayed_texts("customer:C00002") == ["You are now number 1 in the queue."]
    assert fake_rasa.relayed_texts("customer:C00003") == ["You are now number 2 in the queue."]
    assert all(
        body["kind"] == "desk" and body["agent_name"] is None for body in fake_rasa.relayed()
    )
    status = await desk.service().get("/api/conversations/customer:C00001/handoff")
    assert status.json()["agent_name"] == "Lin" and status.json()["status"] == "assigned"
    detail = (await lin.http.get(f"/api/agent/handoffs/{first['handoff_id']}")).json()
    assert detail["transcript"][-1] == {
        **detail["transcript"][-1],
        "author": "system",
        "text": "Lin has joined the chat.",
    }


async def test_a_claimed_conversation_leaves_the_other_agents_queue_live(
    start_desk: DeskFactory,
) -> None:
    desk = await start_desk()
    lin = await desk.agent_at_console("agent")
    zhou = await desk.agent_at_console("cards")
    opened = await desk.open_handoff(skill="payments")
    await eventually(lambda: zhou.events_of("handoff"), what="zhou told of the new handoff")

    await lin.http.post(f"/api/agent/handoffs/{opened['handoff_id']}/claim")

    claimed = await eventually(
        lambda: [event for event in zhou.events_of("handoff") if event["change"] == "claimed"],
        what="claim event",
    )
    assert claimed[0] == {
        "type": "handoff",
        "change": "claimed",
        "handoff_id": opened["handoff_id"],
        "agent_name": "Lin",
    }
    assert (await zhou.http.get("/api/agent/queue")).json()["queue"] == []
