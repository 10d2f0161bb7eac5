"""Human handoff end to end: real Rasa, action server, sandbox and agent desk; the customer on
the socket.io channel, the agent through the desk's console API and console socket (the
browser version of the round trip is tests/browser/test_agent_console.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.desk_agent import AgentSession, eventually, signed_in_agent
from tests.e2e.chat_socket import ChatSocket, connected, token_for
from tests.e2e.servers import RunningAssistant, assistant_in
from tooling.processes import Server

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "demo"
# Short so that an agent's absence and the desk's catching up are seen within a test, yet
# long enough for an agent's console to reconnect after the desk restarts on a busy machine
# (the desk gives agents holding chats a grace period from its start).
GRACE_SECONDS = 5
RECONCILE_SECONDS = 1
PUSH_SECONDS = 20


@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory) -> Iterator[RunningAssistant]:
    with assistant_in(
        tmp_path_factory.mktemp("handoff-e2e"),
        trained_model,
        DESK_AGENT_GRACE_SECONDS=str(GRACE_SECONDS),
        DESK_RECONCILE_SECONDS=str(RECONCILE_SECONDS),
    ) as running:
        yield running


@asynccontextmanager
async def agent_at_console(
    assistant: RunningAssistant, username: str = "agent"
) -> AsyncIterator[AgentSession]:
    agent = await signed_in_agent(assistant.desk_url, username, DEMO_PASSWORD)
    await agent.connect()
    try:
        yield agent
    finally:
        await agent.close()


@asynccontextmanager
async def customer(assistant: RunningAssistant, customer_id: str) -> AsyncIterator[ChatSocket]:
    async with connected(assistant.rasa_url, auth={"token": token_for(customer_id)}) as socket:
        yield socket


async def say(socket: ChatSocket, text: str) -> list[dict[str, Any]]:
    await socket.client.emit("user_uttered", {"message": text})
    return await socket.replies()


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(message.get("text") or "") for message in messages)


async def waiting_handoff(agent: AgentSession, conversation_id: str) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        queue = (await agent.http.get("/api/agent/queue")).json()["queue"]
        return next((item for item in queue if item["conversation_id"] == conversation_id), None)

    return await eventually(find, timeout=10, what=f"{conversation_id} in the queue")


async def transcript_has(
    agent: AgentSession, handoff_id: str, text: str, timeout: float = 15
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        detail = (await agent.http.get(f"/api/agent/handoffs/{handoff_id}")).json()
        return detail if any(line["text"] == text for line in detail["transcript"]) else None

    return await eventually(check, timeout=timeout, what=f"{text!r} at the desk")


async def restart(server: Server) -> None:
    """Stops and starts a server without blocking the test's event loop (the agent's console
    socket must keep answering pings meanwhile)."""
    await asyncio.to_thread(server.stop)
    await asyncio.to_thread(lambda: server.start().wait_until_ready())


def tracker_events(assistant: RunningAssistant, conversation_id: str) -> list[dict[str, Any]]:
    return assistant.tracker(conversation_id)["events"]


async def rasa_recorded(assistant: RunningAssistant, conversation_id: str, text: str) -> bool:
    return text in await asyncio.to_thread(user_said, assistant, conversation_id)


def user_said(assistant: RunningAssistant, conversation_id: str) -> list[str]:
    """What the customer said, as Rasa's tracker recorded it."""
    return [
        event["text"]
        for event in tracker_events(assistant, conversation_id)
        if event["event"] == "user"
    ]


async def test_the_full_round_trip_from_bot_to_person_and_back(assistant):
    async with agent_at_console(assistant) as agent, customer(assistant, "C00007") as socket:
        queued = await say(socket, "I'd like to talk to a person please")
        assert "number 1 in the queue" in texts(queued)

        handoff = await waiting_handoff(agent, "customer:C00007")
        detail = (await agent.http.get(f"/api/agent/handoffs/{handoff['handoff_id']}")).json()
        assert detail["summary"] and detail["profile"]["customer_id"] == "C00007"
        assert "I'd like to talk to a person please" in [
            line["text"] for line in detail["transcript"]
        ]

        claim = await agent.http.post(f"/api/agent/handoffs/{handoff['handoff_id']}/claim")
        assert claim.status_code == 200
        joined = await socket.replies(first_within=PUSH_SECONDS)
        assert "Lin has joined the chat" in texts(joined)

        # The assistant is paused: the message goes to the agent, the bot says nothing.
        await socket.client.emit("user_uttered", {"message": "my card was charged twice"})
        await transcript_has(agent, handoff["handoff_id"], "my card was charged twice")
        assert socket.bot_messages.empty()

        sent = await agent.http.post(
            f"/api/agent/handoffs/{handoff['handoff_id']}/messages",
            json={"text": "I've refunded the second charge."},
        )
        assert sent.status_code == 200
        from_agent = await socket.replies(first_within=PUSH_SECONDS)
        assert from_agent[0]["text"] == "**Agent Lin**\n\nI've refunded the second charge."

        resolved = await agent.http.post(f"/api/agent/handoffs/{handoff['handoff_id']}/resolve")
        assert resolved.status_code == 200
        back = await socket.replies(first_within=PUSH_SECONDS)
        assert "you're back with me" in texts(back)
        assert any(
            button["payload"].startswith("/rate_service")
            for message in back
            for button in message.get("quick_replies") or message.get("buttons") or []
        )

        thanks = await say(socket, '/rate_service{"rating": "5"}')
        assert "Thank you for rating us" in texts(thanks)
        assert "Anything you'd like to tell us?" in texts(thanks)
        rated = (await agent.http.get(f"/api/agent/handoffs/{handoff['handoff_id']}")).json()
        assert rated["rating"] == 5

        # The assistant answers again by itself.
        assert "virtual assistant" in texts(await say(socket, "are you a bot?"))

    events = tracker_events(assistant, "customer:C00007")
    kinds = [event["event"] for event in events]
    assert "pause" in kinds and "resume" in kinds
    assert any((event.get("metadata") or {}).get("handoff_kind") == "agent" for event in events)


async def test_with_no_agent_at_the_console_the_customer_gets_a_callback(assistant):
    async with customer(assistant, "C00008") as socket:
        replies = await say(socket, "/request_human")
        assert "call you back on your registered phone" in texts(replies)
        # Nobody took the chat, so the assistant carries on.
        assert "virtual assistant" in texts(await say(socket, "are you a bot?"))

    assert "pause" not in [event["event"] for event in tracker_events(assistant, "customer:C00008")]


async def test_an_agent_who_disconnects_hands_the_chat_back_to_the_queue(assistant):
    async with customer(assistant, "C00009") as socket:
        async with agent_at_console(assistant) as agent:
            await say(socket, "/request_human")
            handoff = await waiting_handoff(agent, "customer:C00009")
            await agent.http.post(f"/api/agent/handoffs/{handoff['handoff_id']}/claim")
            await socket.replies(first_within=PUSH_SECONDS)
        # The agent's console is gone; after the grace period the customer is told.
        notice = await socket.replies(first_within=GRACE_SECONDS + PUSH_SECONDS)
        assert "disconnected" in texts(notice) and "number 1" in texts(notice)

        async with agent_at_console(assistant) as colleague:
            again = await waiting_handoff(colleague, "customer:C00009")
            assert again["handoff_id"] == handoff["handoff_id"]


async def test_the_agent_sees_when_the_customer_leaves(assistant):
    async with agent_at_console(assistant) as agent:
        async with customer(assistant, "C00010") as socket:
            await say(socket, "/request_human")
            handoff = await waiting_handoff(agent, "customer:C00010")
            await agent.http.post(f"/api/agent/handoffs/{handoff['handoff_id']}/claim")
            await socket.replies(first_within=PUSH_SECONDS)

        async def left() -> bool:
            detail = (await agent.http.get(f"/api/agent/handoffs/{handoff['handoff_id']}")).json()
            return detail["customer_present"] is False

        await eventually(left, timeout=10, what="the customer's departure at the desk")


async def test_two_agents_claiming_the_same_chat_get_one_winner(assistant):
    async with agent_at_console(assistant) as lin, agent_at_console(assistant, "cards") as zhou:
        async with customer(assistant, "C00011") as socket:
            # A card matter goes to the bank queue, which both agents serve.
            await say(socket, "/bank_card_declined")
            await say(socket, "/request_human")
            handoff = await waiting_handoff(zhou, "customer:C00011")
            assert handoff["skill"] == "bank"

            path = f"/api/agent/handoffs/{handoff['handoff_id']}/claim"
            outcomes = await asyncio.gather(lin.http.post(path), zhou.http.post(path))

            assert sorted(reply.status_code for reply in outcomes) == [200, 409]
            joined = await socket.replies(first_within=PUSH_SECONDS)
            assert texts(joined).count("has joined the chat") == 1


async def test_restarting_every_server_mid_handoff_loses_nothing(assistant):
    servers = {server.name: server for server in assistant.servers}
    async with agent_at_console(assistant) as agent:
        async with customer(assistant, "C00012") as socket:
            await say(socket, "/request_human")
            handoff = await waiting_handoff(agent, "customer:C00012")
            handoff_id = handoff["handoff_id"]
            await agent.http.post(f"/api/agent/handoffs/{handoff_id}/claim")
            await socket.replies(first_within=PUSH_SECONDS)

            # The desk restarts; what the customer says meanwhile still reaches the agent.
            await asyncio.to_thread(servers["desk"].stop)
            await socket.client.emit("user_uttered", {"message": "are you still there?"})
            # Rasa records it (and fails to pass it on) while the desk is still down.
            await eventually(
                lambda: rasa_recorded(assistant, "customer:C00012", "are you still there?"),
                timeout=PUSH_SECONDS,
                what="the message in Rasa's tracker while the desk is down",
            )
            await asyncio.to_thread(lambda: servers["desk"].start().wait_until_ready())
            await agent.disconnect()
            await agent.connect()
            detail = await transcript_has(agent, handoff_id, "are you still there?")
            assert detail["mine"], "the claim must survive the desk's restart"

        # The Rasa server restarts while the agent writes; the reply arrives once it is back.
        await asyncio.to_thread(servers["rasa"].stop)
        sent = await agent.http.post(
            f"/api/agent/handoffs/{handoff_id}/messages",
            json={"text": "Yes, I'm checking your account."},
        )
        assert sent.status_code == 200
        await asyncio.to_thread(lambda: servers["rasa"].start().wait_until_ready())
        async with customer(assistant, "C00012") as socket:
            arrived = await socket.replies(first_within=PUSH_SECONDS + RECONCILE_SECONDS)
            assert "Yes, I'm checking your account." in texts(arrived)

            # The action server restarts; resolving still brings the assistant back.
            await restart(servers["actions"])
            await agent.http.post(f"/api/agent/handoffs/{handoff_id}/resolve")
            back = await socket.replies(first_within=PUSH_SECONDS)
            assert "you're back with me" in texts(back)

    assert "are you still there?" in user_said(assistant, "customer:C00012")
