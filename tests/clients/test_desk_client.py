"""The one desk client (clients/desk.py): what it sends, and one error type for whatever goes
wrong, which the action server's connector turns into "the desk is unavailable"."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from actions.desk_connector import DeskConnector
from actions.handoff_connector import HandoffRequest, HandoffUnavailable
from clients.desk import DeskClient, DeskError

SECRET = "test-only-desk-service-secret"


class FakeDesk:
    """Answers like the desk's service API and keeps what it was sent."""

    def __init__(self, status: int = 200, answer: dict | None = None) -> None:
        self.status = status
        self.answer = answer or {"status": "queued", "position": 3}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.answer)

    def client(self) -> DeskClient:
        return DeskClient("http://desk.test/", SECRET, transport=httpx.MockTransport(self))


def refused_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def test_a_handoff_is_posted_with_the_service_secret_and_the_desk_answers():
    desk = FakeDesk()

    answer = await desk.client().open_handoff({"conversation_id": "customer:C00001"})

    assert answer == {"status": "queued", "position": 3}
    sent = desk.requests[0]
    assert (sent.method, str(sent.url)) == ("POST", "http://desk.test/api/handoffs")
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(sent.content) == {"conversation_id": "customer:C00001"}


async def test_a_conversation_id_stays_one_path_segment():
    desk = FakeDesk()
    client = desk.client()

    await client.customer_message("customer:C00001/../x", "m1", "hello", 1.5)
    await client.presence("customer:C00001", present=False)
    await client.record_rating("customer:C00001", 5)

    assert [request.url.raw_path.decode() for request in desk.requests] == [
        "/api/conversations/customer%3AC00001%2F..%2Fx/customer-messages",
        "/api/conversations/customer%3AC00001/presence",
        "/api/conversations/customer%3AC00001/rating",
    ]
    assert json.loads(desk.requests[0].content) == {
        "message_id": "m1",
        "text": "hello",
        "timestamp": 1.5,
    }


async def test_a_refusal_and_an_unreachable_desk_are_one_error_type():
    with pytest.raises(DeskError) as refused:
        await FakeDesk(status=503).client().presence("customer:C00001", present=True)
    unreachable = DeskClient(
        "http://desk.test", SECRET, transport=httpx.MockTransport(refused_connection)
    )
    with pytest.raises(DeskError) as down:
        await unreachable.record_rating("customer:C00001", 4)

    assert refused.value.status == 503
    assert down.value.status is None


async def test_the_connector_tells_the_action_server_the_desk_is_unavailable():
    request = HandoffRequest(
        conversation_id="customer:C00001",
        customer_id="C00001",
        channel="rest",
        skill="general",
        reason="customer_request",
        reason_detail="Asked for a person",
    )
    desk = FakeDesk(
        answer={
            "status": "ticket",
            "ticket_reason": "closed",
            "callback_due_at": "2030-01-01T09:00:00+08:00",
        }
    )

    outcome = await DeskConnector(desk.client()).open_handoff(request)
    with pytest.raises(HandoffUnavailable):
        await DeskConnector(FakeDesk(status=500).client()).open_handoff(request)

    assert (outcome.status, outcome.ticket_reason, outcome.pauses_the_bot) == (
        "ticket",
        "closed",
        False,
    )
    assert json.loads(desk.requests[0].content)["reason"] == "customer_request"


async def test_calls_from_one_event_loop_share_one_connection_to_the_desk():
    # A real socket: each new client would open (and set up TLS for) a connection of its own,
    # blocking the Rasa server's loop for every message forwarded while an agent has the chat.
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while await reader.readuntil(b"\r\n\r\n"):
            body = b'{"status": "queued"}'
            length = len(body)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (length, body))
            await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = DeskClient(f"http://127.0.0.1:{port}", SECRET)
    try:
        for _ in range(3):
            await client.presence("customer:C00001", present=True)
    finally:
        await client.aclose()
        server.close()

    assert connections == 1
