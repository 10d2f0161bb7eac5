"""The API the action server and the Rasa server call: a conversation handed to people, the
customer's messages and presence while people have it, and the rating afterwards."""

from __future__ import annotations

import time

from tests.desk.conftest import RunningDesk, handoff_request
from tests.desk_agent import eventually

CONVERSATION = "customer:C00001"


async def test_every_service_call_needs_the_service_secret(desk: RunningDesk) -> None:
    calls = [
        ("POST", "/api/handoffs", handoff_request()),
        ("GET", f"/api/conversations/{CONVERSATION}/handoff", None),
        (
            "POST",
            f"/api/conversations/{CONVERSATION}/customer-messages",
            {"message_id": "m", "text": "hi", "timestamp": time.time()},
        ),
        ("POST", f"/api/conversations/{CONVERSATION}/presence", {"present": False}),
        ("POST", f"/api/conversations/{CONVERSATION}/rating", {"rating": 5}),
    ]
    for headers in ({}, {"Authorization": "Bearer not-the-secret"}):
        anonymous = desk.client(headers=headers)
        for method, path, body in calls:
            reply = await anonymous.request(method, path, json=body)
            assert reply.status_code == 401, (method, path, reply.text)
    health = await desk.client().get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


async def test_waiting_customers_queue_first_come_first_served_per_skill(desk: RunningDesk) -> None:
    await desk.agent_at_console("agent")
    first = await desk.open_handoff("customer:C00001", skill="security")
    bank = await desk.open_handoff("customer:C00002", skill="bank")
    second = await desk.open_handoff("customer:C00003", skill="security")

    assert (first["status"], first["position"]) == ("queued", 1)
    assert (bank["status"], bank["position"]) == ("queued", 1)
    assert (second["status"], second["position"]) == ("queued", 2)
    assert first["ticket_reason"] is first["callback_due_at"] is first["opens_at"] is None

    status = await desk.service().get("/api/conversations/customer:C00003/handoff")
    assert status.json() == {
        "handoff_id": second["handoff_id"],
        "status": "queued",
        "position": 2,
        "agent_name": None,
    }


async def test_asking_twice_returns_the_open_handoff_with_its_current_place(
    desk: RunningDesk,
) -> None:
    lin = await desk.agent_at_console("agent")
    ahead = await desk.open_handoff("customer:C00009")
    opened = await desk.open_handoff(CONVERSATION)
    await lin.http.post(f"/api/agent/handoffs/{ahead['handoff_id']}/claim")

    again = await desk.open_handoff(CONVERSATION, reason="customer_request")
    assert again["handoff_id"] == opened["handoff_id"]
    assert (again["status"], again["position"]) == ("queued", 1)


async def test_any_conversation_id_works_in_the_path(desk: RunningDesk) -> None:
    await desk.agent_at_console("agent")
    opened = await desk.open_handoff("web/visitor 7", customer_id=None, profile=None)
    status = await desk.service().get("/api/conversations/web%2Fvisitor%207/handoff")
    assert status.status_code == 200 and status.json()["handoff_id"] == opened["handoff_id"]


async def test_an_unknown_skill_is_refused(desk: RunningDesk) -> None:
    reply = await desk.service().post("/api/handoffs", json=handoff_request(skill="mortgages"))
    assert reply.status_code == 422
    assert reply.json()["error"]["problems"][0]["field"].endswith("skill")


async def test_no_open_handoff_answers_404(desk: RunningDesk) -> None:
    service = desk.service()
    assert (await service.get(f"/api/conversations/{CONVERSATION}/handoff")).status_code == 404
    message = {"message_id": "m1", "text": "hello?", "timestamp": time.time()}
    reply = await service.post(f"/api/conversations/{CONVERSATION}/customer-messages", json=message)
    assert reply.status_code == 404
    reply = await service.post(
        f"/api/conversations/{CONVERSATION}/presence", json={"present": False}
    )
    assert reply.status_code == 404


async def test_a_customer_message_is_stored_once_and_reaches_the_agent_live(
    desk: RunningDesk,
) -> None:
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff(CONVERSATION)
    await lin.http.post(f"/api/agent/handoffs/{opened['handoff_id']}/claim")
    path = f"/api/conversations/{CONVERSATION}/customer-messages"
    message = {"message_id": "rasa-42", "text": "are you still there?", "timestamp": time.time()}
    later = {"message_id": "rasa-43", "text": "hello?", "timestamp": time.time()}

    # Rasa delivers the first message twice (a retry), then the customer writes again.
    for sent in (message, message, later):
        reply = await desk.service().post(path, json=sent)
        assert reply.status_code == 202, reply.text

    detail = (await lin.http.get(f"/api/agent/handoffs/{opened['handoff_id']}")).json()
    said = [line["text"] for line in detail["transcript"] if line["author"] == "customer"]
    assert said == ["someone took money from my card", "are you still there?", "hello?"]

    def live() -> list[str]:
        return [event["message"]["text"] for event in lin.events_of("message")]

    # The console's events arrive in order, so once the later message is there, a second
    # copy of the first would be there too.
    await eventually(lambda: "hello?" in live(), what="the later message at the console")
    assert live() == ["are you still there?", "hello?"]


async def test_the_customer_leaving_shows_in_the_console_and_transcript(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff(CONVERSATION)
    presence = f"/api/conversations/{CONVERSATION}/presence"

    assert (await desk.service().post(presence, json={"present": False})).status_code == 202
    queue = (await lin.http.get("/api/agent/queue")).json()["queue"]
    assert queue[0]["customer_present"] is False
    page = (await lin.http.get("/console")).text
    assert 'data-testid="customer-left-badge"' in page
    detail = (await lin.http.get(f"/api/agent/handoffs/{opened['handoff_id']}")).json()
    assert detail["transcript"][-1]["author"] == "system"
    assert detail["transcript"][-1]["text"] == "The customer left the chat."

    def presence_changes() -> list[bool]:
        return [
            event["present"]
            for event in lin.events_of("handoff")
            if event.get("change") == "presence"
        ]

    await eventually(lambda: presence_changes() == [False], what="the departure at the console")

    assert (await desk.service().post(presence, json={"present": True})).status_code == 202
    detail = (await lin.http.get(f"/api/agent/handoffs/{opened['handoff_id']}")).json()
    assert detail["customer_present"] is True
    assert detail["transcript"][-1]["text"] == "The customer came back to the chat."
    await eventually(lambda: presence_changes() == [False, True], what="the return at the console")


async def test_the_rating_lands_on_the_latest_resolved_handoff(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    rating = f"/api/conversations/{CONVERSATION}/rating"
    assert (await desk.service().post(rating, json={"rating": 4})).status_code == 404

    opened = await desk.open_handoff(CONVERSATION)
    handoff_id = opened["handoff_id"]
    await lin.http.post(f"/api/agent/handoffs/{handoff_id}/claim")
    await lin.http.post(f"/api/agent/handoffs/{handoff_id}/resolve")

    reply = await desk.service().post(rating, json={"rating": 4})
    assert reply.status_code == 200 and reply.json() == {"handoff_id": handoff_id, "rating": 4}
    assert (await desk.service().post(rating, json={"rating": 6})).status_code == 422
    detail = (await lin.http.get(f"/api/agent/handoffs/{handoff_id}")).json()
    assert detail["rating"] == 4


async def test_the_transcript_from_the_assistant_opens_the_handoff(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff(CONVERSATION)
    detail = (await lin.http.get(f"/api/agent/handoffs/{opened['handoff_id']}")).json()
    assert [(line["author"], line["text"]) for line in detail["transcript"]] == [
        ("customer", "someone took money from my card"),
        ("bot", "I'm bringing in a fraud specialist."),
    ]
    assert detail["intents"][0]["description"] == "Report fraud or a scam"
    assert detail["slots"] == {"fraud_description": "a payment of 500 yuan I didn't make"}


async def test_the_desk_answers_json_errors(desk: RunningDesk) -> None:
    reply = await desk.service().post(
        "/api/handoffs", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "invalid_request"
