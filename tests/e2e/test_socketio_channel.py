"""The socket.io channel binds a socket to the customer whose sign-in token it presented at
connect; nothing the client sends afterwards changes whose conversation it is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from tests.e2e.chat_socket import connected, token_for
from tests.e2e.servers import RunningAssistant, assistant_in

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory) -> Iterator[RunningAssistant]:
    with assistant_in(tmp_path_factory.mktemp("socketio-e2e"), trained_model) as running:
        yield running


def user_texts(assistant: RunningAssistant, sender: str) -> list[str]:
    return [event.get("text") for event in assistant.tracker(sender)["events"]
            if event["event"] == "user"]


async def test_a_socket_without_a_valid_sign_in_token_is_refused(assistant):
    attempts = {
        "no token": None,
        "garbage": {"token": "not-a-token"},
        "forged": {"token": token_for("C00004", "forged-secret")},
        "expired": {"token": token_for("C00004", seconds=-60)},
    }

    async def refused(auth: dict[str, str] | None) -> bool:
        try:
            async with connected(assistant.rasa_url, auth=auth):
                return False
        except socketio.exceptions.ConnectionError:
            return True

    # Side by side: a refused polling client takes the server's ping interval to hang up.
    outcomes = await asyncio.gather(*(refused(auth) for auth in attempts.values()))
    assert dict(zip(attempts, outcomes, strict=True)) == dict.fromkeys(attempts, True)


async def test_client_supplied_session_and_custom_data_do_not_change_the_customer(assistant):
    async with connected(assistant.rasa_url, auth={"token": token_for("C00003")}) as socket:
        await socket.client.emit("session_request", {"session_id": "customer:C00002"})
        confirmed = await asyncio.wait_for(socket.session_confirms.get(), 30)
        await socket.client.emit("user_uttered", {
            "message": "hi",
            "session_id": "customer:C00002",
            "customData": {"customer_id": "C00002"},
            "metadata": {"customer_id": "C00002"},
        })
        replies = await socket.replies()

    name = assistant.backend("GET", "/v1/customers/me", customer_id="C00003")["name"]
    assert confirmed == "customer:C00003"
    assert any(name in reply.get("text", "") for reply in replies), replies
    assert user_texts(assistant, "customer:C00003") == ["hi"]
    assert user_texts(assistant, "customer:C00002") == []


async def test_the_token_may_come_in_the_socket_url_as_the_widget_sends_it(assistant):
    url = f"{assistant.rasa_url}/?token={token_for('C00005')}"
    async with connected(url) as socket:
        await socket.client.emit("user_uttered", {"message": "hello"})
        assert await socket.replies()

    assert user_texts(assistant, "customer:C00005") == ["hello"]


async def test_an_agent_message_pushed_later_reaches_the_customer_marked_as_the_agents(
    assistant,
):
    async with connected(assistant.rasa_url, auth={"token": token_for("C00006")}) as socket:
        await socket.client.emit("user_uttered", {"message": "hi"})
        await socket.replies()
        agent_message = {"event": "bot", "text": None, "data": {"custom": {
            "from": "agent", "agent_name": "Dana", "text": "I'm looking at your card now."}}}
        await asyncio.to_thread(
            assistant.api,
            "/conversations/customer:C00006/tracker/events"
            "?execute_side_effects=true&output_channel=socketio",
            agent_message,
        )
        pushed = await socket.replies(first_within=30)

    assert pushed == [{
        "text": "**Agent Dana**\n\nI'm looking at your card now.",
        "metadata": {"customCss": {"style": "class", "css": "agent-message"}},
    }]
