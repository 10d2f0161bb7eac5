"""The socket.io channel binds a socket to the customer whose sign-in token it presented at
connect; nothing the client sends afterwards changes whose conversation it is."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import httpx
import pytest

from channels.customer_messages import PAYMENT_DATA_WARNING
from channels.sessions import MAX_SOCKETS_PER_CUSTOMER
from channels.socketio import SESSION_ENDED_REPLY
from tests.channels.stores import PLANTED_CARD_MESSAGE, files_holding
from tests.e2e.chat_socket import ChatSocket, connected, token_for
from tests.e2e.servers import RunningAssistant, SharedAssistant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data_dir(shared_assistant: SharedAssistant) -> Path:
    return shared_assistant.data_dir


@pytest.fixture(scope="module")
def assistant(
    shared_assistant: SharedAssistant, request: pytest.FixtureRequest
) -> RunningAssistant:
    return shared_assistant.module(request, block=2)


async def refused(
    url: str, auth: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> bool:
    """Whether the server refuses to open a chat session, asked as the socket.io protocol
    does over HTTP long-polling: the engine.io handshake, then the namespace's CONNECT. (A
    refused socket.io client would wait out the server's ping interval before it hangs up.)"""
    endpoint = f"{url}/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(headers=headers or {}, timeout=30) as http:
        handshake = await http.get(endpoint)
        if handshake.status_code != 200:
            return True
        session = f"{endpoint}&sid={json.loads(handshake.text[1:])['sid']}"
        await http.post(session, content="40" + (json.dumps(auth) if auth else ""))
        answer = (await http.get(session)).text
        await http.post(session, content="1")
    packets = answer.split("\x1e")
    return not any(packet.startswith("40") for packet in packets)


def closed_by_server(socket: ChatSocket) -> asyncio.Event:
    closed = asyncio.Event()
    socket.client.on("disconnect", lambda *_: closed.set())
    return closed


def sign_out(assistant: RunningAssistant, token: str) -> int:
    request = urllib.request.Request(
        f"{assistant.rasa_url}/webhooks/signed_rest/sign_out",
        b"",
        {"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


def user_texts(assistant: RunningAssistant, sender: str) -> list[str]:
    return [
        event.get("text")
        for event in assistant.tracker(sender)["events"]
        if event["event"] == "user"
    ]


async def test_a_socket_without_a_valid_sign_in_token_is_refused(assistant):
    customer = assistant.customer(4)
    attempts = {
        "no token": None,
        "garbage": {"token": "not-a-token"},
        "forged": {"token": token_for(customer, "forged-secret")},
        "expired": {"token": token_for(customer, seconds=-60)},
    }

    outcomes = await asyncio.gather(
        *(refused(assistant.rasa_url, auth=auth) for auth in attempts.values())
    )
    assert dict(zip(attempts, outcomes, strict=True)) == dict.fromkeys(attempts, True)


async def test_client_supplied_session_and_custom_data_do_not_change_the_customer(assistant):
    me, other = assistant.customer(3), assistant.customer(2)
    async with connected(assistant.rasa_url, auth={"token": token_for(me)}) as socket:
        await socket.client.emit("session_request", {"session_id": f"customer:{other}"})
        confirmed = await asyncio.wait_for(socket.session_confirms.get(), 30)
        await socket.client.emit(
            "user_uttered",
            {
                "message": "hi",
                "session_id": f"customer:{other}",
                "customData": {"customer_id": other},
                "metadata": {"customer_id": other},
            },
        )
        replies = await socket.replies()

    name = assistant.backend("GET", "/v1/customers/me", customer_id=me)["name"]
    assert confirmed == f"customer:{me}"
    assert any(name in reply.get("text", "") for reply in replies), replies
    assert user_texts(assistant, f"customer:{me}") == ["hi"]
    assert user_texts(assistant, f"customer:{other}") == []


async def test_the_token_may_come_in_the_socket_url_as_the_widget_sends_it(assistant):
    customer = assistant.customer(5)
    url = f"{assistant.rasa_url}/?token={token_for(customer)}"
    async with connected(url) as socket:
        await socket.client.emit("user_uttered", {"message": "hello"})
        assert await socket.replies()

    assert user_texts(assistant, f"customer:{customer}") == ["hello"]


async def test_an_agent_message_pushed_later_reaches_the_customer_marked_as_the_agents(
    assistant,
):
    customer = assistant.customer(6)
    async with connected(assistant.rasa_url, auth={"token": token_for(customer)}) as socket:
        await socket.client.emit("user_uttered", {"message": "hi"})
        await socket.replies()
        agent_message = {
            "event": "bot",
            "text": None,
            "data": {
                "custom": {
                    "from": "agent",
                    "agent_name": "Dana",
                    "text": "I'm looking at your card now.",
                }
            },
        }
        await asyncio.to_thread(
            assistant.api,
            f"/conversations/customer:{customer}/tracker/events"
            "?execute_side_effects=true&output_channel=socketio",
            agent_message,
        )
        pushed = await socket.replies(first_within=30)

    assert pushed == [
        {
            "text": "**Agent Dana**\n\nI'm looking at your card now.",
            "metadata": {"customCss": {"style": "class", "css": "agent-message"}},
        }
    ]


async def test_a_card_number_typed_in_the_web_chat_is_stored_nowhere(assistant, data_dir):
    customer = assistant.customer(11)
    async with connected(assistant.rasa_url, auth={"token": token_for(customer)}) as socket:
        await socket.client.emit("user_uttered", {"message": PLANTED_CARD_MESSAGE})
        replies = await socket.replies()

    assert replies[0]["text"] == PAYMENT_DATA_WARNING and len(replies) > 1
    assert user_texts(assistant, f"customer:{customer}") == [
        "my card number is [card ending 1111] and [security code]"
    ]
    assert files_holding(data_dir) == {}


async def test_a_foreign_origin_is_refused_and_the_web_chat_origin_is_not(assistant):
    token = {"token": token_for(assistant.customer(12))}

    assert await refused(assistant.rasa_url, auth=token, headers={"Origin": "https://evil.example"})
    assert not await refused(
        assistant.rasa_url, auth=token, headers={"Origin": "http://127.0.0.1:5200"}
    )


async def test_a_socket_whose_token_expires_is_told_and_closed_at_its_next_message(assistant):
    customer = assistant.customer(13)
    async with connected(
        assistant.rasa_url, auth={"token": token_for(customer, seconds=3)}
    ) as socket:
        closed = closed_by_server(socket)
        await asyncio.sleep(4)
        await socket.client.emit("user_uttered", {"message": "hi"})
        replies = await socket.replies(first_within=30)

        assert [reply["text"] for reply in replies] == [SESSION_ENDED_REPLY]
        await asyncio.wait_for(closed.wait(), 10)
    assert user_texts(assistant, f"customer:{customer}") == []


async def test_signing_out_closes_the_tokens_sockets_and_refuses_it_after(assistant):
    token = token_for(assistant.customer(14))
    async with connected(assistant.rasa_url, auth={"token": token}) as socket:
        closed = closed_by_server(socket)
        assert await asyncio.to_thread(sign_out, assistant, token) == 200
        replies = await socket.replies(first_within=30)

        assert [reply["text"] for reply in replies] == [SESSION_ENDED_REPLY]
        await asyncio.wait_for(closed.wait(), 10)
    assert await refused(assistant.rasa_url, auth={"token": token})


async def test_a_customer_may_hold_a_capped_number_of_sockets(assistant):
    token = {"token": token_for(assistant.customer(15))}
    sockets = [ChatSocket() for _ in range(MAX_SOCKETS_PER_CUSTOMER)]
    try:
        for socket in sockets:
            await socket.client.connect(
                assistant.rasa_url,
                socketio_path="/socket.io",
                transports=["polling"],
                wait_timeout=30,
                auth=token,
            )
        assert await refused(assistant.rasa_url, auth=token)
    finally:
        await asyncio.gather(*(socket.hang_up() for socket in sockets))
    assert not await refused(assistant.rasa_url, auth=token)
