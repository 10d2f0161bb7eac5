"""An agent's messages and the hand-back to the assistant reach Rasa: written to the desk's
database first, then delivered in order, and retried while Rasa is down."""

from __future__ import annotations

from sqlalchemy import select

from services.desk.models import HandoffMessage, OutboxItem
from tests.desk.conftest import DeskFactory, FakeRasa, RunningDesk
from tests.desk_agent import AgentSession, eventually

CONVERSATION = "customer:C00001"


async def claimed_handoff(desk: RunningDesk) -> tuple[AgentSession, str]:
    lin = await desk.agent_at_console("agent")
    handoff_id = (await desk.open_handoff(CONVERSATION))["handoff_id"]
    assert (await lin.http.post(f"/api/agent/handoffs/{handoff_id}/claim")).status_code == 200
    return lin, handoff_id


async def test_an_agent_message_is_stored_then_delivered_as_the_agents(
    desk: RunningDesk, fake_rasa: FakeRasa
) -> None:
    lin, handoff_id = await claimed_handoff(desk)

    reply = await lin.http.post(
        f"/api/agent/handoffs/{handoff_id}/messages",
        json={"text": "  Hello, I'm Lin from the fraud team.  "},
    )

    assert reply.status_code == 200
    line = reply.json()
    assert (line["author"], line["agent_name"]) == ("agent", "Lin")
    assert line["text"] == "Hello, I'm Lin from the fraud team."
    async with desk.desk.db.reading() as session:
        stored = (
            await session.execute(
                select(HandoffMessage).where(HandoffMessage.message_id == line["message_id"])
            )
        ).scalar_one()
    assert stored.text == line["text"]
    relayed = await eventually(
        lambda: [body for body in fake_rasa.relayed(CONVERSATION) if body["kind"] == "agent"],
        what="the agent's message at Rasa",
    )
    assert relayed == [
        {
            "conversation_id": CONVERSATION,
            "message_id": line["message_id"],
            "kind": "agent",
            "agent_name": "Lin",
            "text": "Hello, I'm Lin from the fraud team.",
        }
    ]


async def test_an_empty_or_overlong_message_is_refused(desk: RunningDesk) -> None:
    lin, handoff_id = await claimed_handoff(desk)
    path = f"/api/agent/handoffs/{handoff_id}/messages"
    for text in ("", "   ", "x" * 2001):
        assert (await lin.http.post(path, json={"text": text})).status_code == 422
    assert (await lin.http.post(path, json={"text": "x" * 2000})).status_code == 200


async def test_only_the_assigned_agent_writes(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    handoff_id = (await desk.open_handoff(CONVERSATION))["handoff_id"]
    reply = await lin.http.post(
        f"/api/agent/handoffs/{handoff_id}/messages", json={"text": "hello"}
    )
    assert reply.status_code == 409  # still waiting: claim it first


async def test_resolving_resumes_the_bot_then_triggers_the_resolved_intent(
    desk: RunningDesk, fake_rasa: FakeRasa
) -> None:
    lin, handoff_id = await claimed_handoff(desk)
    await lin.http.post(f"/api/agent/handoffs/{handoff_id}/messages", json={"text": "Done."})

    reply = await lin.http.post(f"/api/agent/handoffs/{handoff_id}/resolve")

    assert reply.status_code == 200 and reply.json()["status"] == "resolved"
    await eventually(
        lambda: any(kind == "trigger_intent" for kind, _, _ in fake_rasa.calls),
        what="the resolved intent",
    )
    kinds = [kind for kind, conversation, _ in fake_rasa.calls if conversation == CONVERSATION]
    assert kinds == ["relay", "relay", "events", "trigger_intent"]
    assert [call[2] for call in fake_rasa.calls[2:]] == [
        [{"event": "resume"}],
        {
            "name": "EXTERNAL_handoff_resolved",
            "entities": {"agent_name": "Lin"},
            "output_channel": "latest",
        },
    ]
    assert (
        await desk.service().get(f"/api/conversations/{CONVERSATION}/handoff")
    ).status_code == 404
    again = await lin.http.post(f"/api/agent/handoffs/{handoff_id}/resolve")
    assert again.status_code == 409


async def test_while_rasa_is_down_messages_wait_and_arrive_in_order_once_it_is_back(
    start_desk: DeskFactory, fake_rasa: FakeRasa
) -> None:
    desk = await start_desk()
    lin, handoff_id = await claimed_handoff(desk)
    await eventually(lambda: fake_rasa.relayed(CONVERSATION), what="the joined notice")
    await fake_rasa.stop()

    texts = ["First, let me check your card.", "It is frozen now.", "Anything else?"]
    for text in texts:
        reply = await lin.http.post(
            f"/api/agent/handoffs/{handoff_id}/messages", json={"text": text}
        )
        assert reply.status_code == 200
    await lin.http.post(f"/api/agent/handoffs/{handoff_id}/resolve")

    async def retried() -> bool:
        async with desk.desk.db.reading() as session:
            pending = (
                (await session.execute(select(OutboxItem).where(OutboxItem.delivered_at.is_(None))))
                .scalars()
                .all()
            )
        return len(pending) == 5 and all(item.attempts >= 2 for item in pending[:1])

    await eventually(retried, what="retries while Rasa is down")

    await fake_rasa.start()
    await eventually(
        lambda: any(kind == "trigger_intent" for kind, _, _ in fake_rasa.calls),
        what="everything delivered",
    )
    after_restart = [
        (kind, body.get("text") if kind == "relay" else None)
        for kind, _, body in fake_rasa.calls[1:]
    ]
    assert after_restart == [("relay", text) for text in texts] + [
        ("events", None),
        ("trigger_intent", None),
    ]


async def test_a_message_for_an_absent_customer_is_pushed_again_when_they_return(
    desk: RunningDesk, fake_rasa: FakeRasa
) -> None:
    lin, handoff_id = await claimed_handoff(desk)
    fake_rasa.delivery = "customer_offline"
    reply = await lin.http.post(
        f"/api/agent/handoffs/{handoff_id}/messages", json={"text": "Are you there?"}
    )
    message_id = reply.json()["message_id"]
    await eventually(
        lambda: [b for b in fake_rasa.relayed() if b["message_id"] == message_id],
        what="first delivery",
    )

    fake_rasa.delivery = "pushed"
    await desk.service().post(
        f"/api/conversations/{CONVERSATION}/presence", json={"present": False}
    )
    await desk.service().post(f"/api/conversations/{CONVERSATION}/presence", json={"present": True})

    await eventually(
        lambda: len([b for b in fake_rasa.relayed() if b["message_id"] == message_id]) == 2,
        what="the message pushed again",
    )


async def test_the_desk_vouches_for_exactly_what_it_sent_and_nothing_else(
    desk: RunningDesk, fake_rasa: FakeRasa
) -> None:
    lin, handoff_id = await claimed_handoff(desk)
    line = (
        await lin.http.post(
            f"/api/agent/handoffs/{handoff_id}/messages", json={"text": "Your card is safe."}
        )
    ).json()
    notice = await eventually(
        lambda: [body for body in fake_rasa.relayed(CONVERSATION) if body["kind"] == "desk"],
        what="the desk's notice that Lin joined",
    )

    service = desk.service()
    sent = await service.get(f"/api/sent-messages/{line['message_id']}")
    assert sent.json() == {
        "conversation_id": CONVERSATION,
        "kind": "agent",
        "agent_name": "Lin",
        "text": "Your card is safe.",
    }
    vouched = (await service.get(f"/api/sent-messages/{notice[0]['message_id']}")).json()
    assert (vouched["kind"], vouched["agent_name"]) == ("desk", None)
    for unknown in ("desk-forged", "m-customer"):
        reply = await service.get(f"/api/sent-messages/{unknown}")
        assert reply.status_code == 404
    anonymous = await desk.client().get(f"/api/sent-messages/{line['message_id']}")
    assert anonymous.status_code == 401
