"""The scale-out profile: two Rasa servers and two action servers behind HAProxy, on PostgreSQL,
Redis and RabbitMQ (tooling/scale_out.py), started as `scripts/scale-out` starts it but on
ports, databases and a virtual host of the test's own.

Ten signed-in conversations go over REST through the balancer with both Rasa servers taking
turns, then ten more while one Rasa server is killed; every conversation's events are read back
from PostgreSQL and counted (bench/scale_out_faults.py holds the conversations and the checks;
its full-size run records the figures).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.latency import pick_customers
from bench.scale_out_faults import (
    MESSAGES_PER_CONVERSATION,
    Fault,
    LoadRun,
    conversations_for,
    kill_rasa_server,
    published_events,
    running_scale_out,
    stored_event_counts,
    stored_user_texts,
)
from common.customer_binding import bound_sender_id
from tests.e2e.chat_socket import token_for
from tests.e2e.production_services import require_scale_out_servers
from tooling.scale_out import SOCKETIO_PATH, STICKY_COOKIE, ScaleOut

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CONVERSATIONS = 10
# The test's own databases' prefix, lock-store key prefix and RabbitMQ virtual host.
VHOST = "fincs_scale_test"
# engine.io 4 joins the packets of one long-polling answer with this.
PACKET_SEPARATOR = "\x1e"


@pytest.fixture(scope="module")
def scale_out(
    trained_model: Path, tmp_path_factory
) -> Iterator[tuple[ScaleOut, dict[str, str], list[str]]]:
    require_scale_out_servers()
    work_dir = tmp_path_factory.mktemp("scale-out")
    with running_scale_out(trained_model, work_dir, VHOST) as (profile, environment):
        customers = pick_customers(
            environment["BACKEND_URL"], environment["SANDBOX_SERVICE_SECRET"], 2 * CONVERSATIONS + 1
        )
        yield profile, environment, customers


def not_stored(run: LoadRun, environment: dict[str, str]) -> dict[str, list[str]]:
    """Each conversation's sent messages that PostgreSQL does not hold, for the failure's
    message (a run under heavy load once stored 99 of 100 with nothing reported lost)."""
    missing = {}
    for conversation in run.conversations:
        stored = stored_user_texts(environment["TRACKER_STORE_URL"], conversation.sender_id)
        sent = [message.text for message in conversation.messages()]
        if gone := [text for text in sent if text not in stored]:
            missing[conversation.sender_id] = gone
    return missing


def test_conversations_through_the_balancer_are_stored_whole_and_in_order(scale_out):
    profile, environment, customers = scale_out
    run = LoadRun(
        environment["RASA_URL"],
        environment["TRACKER_STORE_URL"],
        conversations_for(customers[:CONVERSATIONS], environment["CHANNEL_SIGNING_SECRET"]),
    ).run()

    messages = run.messages()
    assert len(messages) == CONVERSATIONS * MESSAGES_PER_CONVERSATION
    assert [m.text for m in messages if not m.answered] == []
    assert all(m.replies for m in messages if m.text != "/session_start")
    # Both servers took turns: the balancer names the one that answered each message.
    served = run.served_between(0)
    assert set(served) == {"rasa-1", "rasa-2"}, served
    assert min(served.values()) >= len(messages) // 4, served
    findings = run.findings()
    assert findings.messages_stored == len(messages), not_stored(run, environment)
    assert findings.sound, vars(findings)
    # Every stored event reached RabbitMQ too, from whichever server stored it.
    stored = stored_event_counts(environment["TRACKER_STORE_URL"], run.conversations)
    published = published_events(VHOST, stored)
    assert {sender: published[sender] for sender in stored} == stored


async def sessions_that_lost_their_server(rasa_url: str, token: str, by_cookie: bool) -> int:
    """Of ten socket.io sessions opened through the balancer over HTTP long-polling, how many
    lose their server: after the engine.io handshake, the namespace CONNECT goes on a new
    connection, as a browser's next request may, and only the server that answered the
    handshake knows the session (another answers 400 "Invalid session"). by_cookie: the token
    goes in the CONNECT and the client keeps the balancer's cookie, as a browser does; else the
    token is in the URL and no cookie is kept, as the web chat page and cookie-less clients do."""
    query = "EIO=4&transport=polling" + ("" if by_cookie else f"&token={token}")
    endpoint = f"{rasa_url}{SOCKETIO_PATH}/?{query}"
    lost = 0
    for _ in range(10):
        async with httpx.AsyncClient(timeout=30) as http:
            handshake = await http.get(endpoint)
            cookies = http.cookies if by_cookie else httpx.Cookies()
        assert handshake.status_code == 200 and STICKY_COOKIE in handshake.cookies
        session = f"{endpoint}&sid={json.loads(handshake.text[1:])['sid']}"
        connect = "40" + (json.dumps({"token": token}) if by_cookie else "")
        async with httpx.AsyncClient(timeout=30, cookies=cookies) as http:
            answer = await http.post(session, content=connect)
            lost += answer.status_code != 200
            if answer.status_code == 200:
                await http.post(session, content="1")  # closes the session
    return lost


async def answer_over_long_polling(rasa_url: str, token: str, message: str) -> list[str]:
    """The bot messages answering ``message`` on a socket.io session held over long-polling
    (the engine.io and socket.io packets written out), the token in the URL."""
    endpoint = f"{rasa_url}{SOCKETIO_PATH}/?EIO=4&transport=polling&token={token}"
    async with httpx.AsyncClient(timeout=60) as http:
        handshake = await http.get(endpoint)
        session = f"{endpoint}&sid={json.loads(handshake.text[1:])['sid']}"
        await http.post(session, content="40")
        await http.post(session, content="42" + json.dumps(["user_uttered", {"message": message}]))
        answers: list[str] = []
        while not answers:
            packets = (await http.get(session)).text.split(PACKET_SEPARATOR)
            answers = [p for p in packets if p.startswith('42["bot_uttered"')]
            if "2" in packets:  # the server's ping, answered so the session stays open
                await http.post(session, content="3")
        await http.post(session, content="1")
    return answers


async def test_socket_io_sessions_stay_on_their_server_through_the_balancer(scale_out):
    profile, environment, customers = scale_out
    customer = customers[-1]
    token = token_for(customer, environment["CHANNEL_SIGNING_SECRET"])
    rasa_url = environment["RASA_URL"]

    assert await sessions_that_lost_their_server(rasa_url, token, by_cookie=False) == 0
    assert await sessions_that_lost_their_server(rasa_url, token, by_cookie=True) == 0
    # And a message answered over long-polling through the balancer, as the web chat page
    # holds a chat.
    assert await answer_over_long_polling(rasa_url, token, "are you a bot?")
    stored = stored_user_texts(environment["TRACKER_STORE_URL"], bound_sender_id(customer))
    assert stored == ["are you a bot?"]


def test_a_rasa_server_killed_mid_run_leaves_every_conversation_going_on_the_other(scale_out):
    profile, environment, customers = scale_out
    kill = Fault("one Rasa server killed", 0.4, kill_rasa_server(profile))
    run = LoadRun(
        environment["RASA_URL"],
        environment["TRACKER_STORE_URL"],
        conversations_for(
            customers[CONVERSATIONS : 2 * CONVERSATIONS], environment["CHANNEL_SIGNING_SECRET"]
        ),
        [kill],
    ).run()

    assert profile.rasa_servers[0].process.poll() is not None, "rasa-1 was not killed"
    assert "did not take it out" not in kill.outcome, kill.outcome
    messages = run.messages()
    # Every message got through: answered, after the customer sent it again if it was in flight
    # on the killed server, or taken by that server just before it died.
    assert [m.text for m in messages if not (m.answered or m.answer_lost)] == []
    print(
        f"{sum(m.attempts - 1 for m in messages)} messages sent again, "
        f"{sum(m.answer_lost for m in messages)} taken without an answer; {kill.outcome}"
    )
    assert kill.started is not None
    after_the_kill = run.served_between(kill.started + kill.seconds + 1)
    assert set(after_the_kill) == {"rasa-2"}, after_the_kill
    findings = run.findings()
    assert findings.messages_stored == len(messages)
    assert findings.sound, vars(findings)
