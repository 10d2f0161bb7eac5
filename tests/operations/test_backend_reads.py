"""What the back end sees while customers talk to the real action server: each resource is read
once a turn, the profile once a session, what a customer holds is read again once an operation
may have changed it (on whichever action server ran it), and one customer's reads never answer
another's.

The action server runs as its own process, as deployed, and gets its calls as Rasa makes
them: the whole tracker, and the domain only for ``validate_`` actions (Rasa's selective
domain, endpoints.yml). The sandbox it calls records every request it serves.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from clients.backend import (
    PROFILE_PATH,
    BackendClient,
    BackendError,
    ReadCache,
    ReadScope,
    keep_reads_for,
)
from common.environment import process_environment
from common.ports import free_port
from services.sandbox.app import create_app
from services.sandbox.thread_server import ServerThread
from tests.operations.conftest import SERVICE_SECRET, sandbox_settings
from tests.operations.conversation import Conversation
from tests.operations.test_every_operation import sms_code
from tooling.processes import Server, action_server

CARDS_PATH = "/v1/customers/me/cards"


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    customer: str | None


@dataclass
class RecordingApp:
    """The sandbox, recording each request it serves (the test's own reads of the phone aside)."""

    app: Any
    served: list[Served] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/sandbox/"):
            headers = dict(scope.get("headers") or [])
            customer = headers.get(b"x-customer-id")
            self.served.append(
                Served(scope["method"], scope["path"], customer.decode() if customer else None)
            )
        await self.app(scope, receive, send)

    def reads(self) -> Counter[str]:
        return Counter(each.path for each in self.served if each.method == "GET")


@dataclass
class RecordedSandbox:
    base_url: str
    recording: RecordingApp


@pytest.fixture(scope="module")
def sandbox(
    seeded_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecordedSandbox]:
    database = tmp_path_factory.mktemp("recorded") / "sandbox.db"
    database.write_bytes(seeded_database.read_bytes())
    recording = RecordingApp(create_app(sandbox_settings(database)))
    server = ServerThread(recording).start()
    try:
        yield RecordedSandbox(server.base_url, recording)
    finally:
        server.stop()


@dataclass
class ActionServer:
    url: str
    token: str


def started_action_server(sandbox: RecordedSandbox, log_dir: Path) -> Server:
    environment = process_environment(
        BACKEND_URL=sandbox.base_url,
        BACKEND_SERVICE_SECRET=SERVICE_SECRET,
        SANDBOX_SERVICE_SECRET=SERVICE_SECRET,
    )
    server = action_server(free_port(), environment)
    server.log_dir = log_dir
    server.start()
    return server


@pytest.fixture(scope="module")
def action_servers(
    sandbox: RecordedSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ActionServer]]:
    """Two action servers, as a deployment with several runs them."""
    log_dir = tmp_path_factory.mktemp("action_servers")
    servers = [started_action_server(sandbox, log_dir) for _ in range(2)]
    try:
        for server in servers:
            server.wait_until_ready()
        yield [
            ActionServer(
                server.ready_url.replace("/health", "/webhook"),
                server.environment["ACTION_SERVER_TOKEN"],
            )
            for server in servers
        ]
    finally:
        for server in servers:
            server.stop()


class ActionServerConversation(Conversation):
    """A conversation whose actions run on a real action server, called as Rasa calls it."""

    def __init__(self, customer_id: str, server: ActionServer, domain: dict[str, Any]) -> None:
        # The client is never used: the action server calls the back end itself.
        super().__init__(customer_id, backend_client_placeholder(), domain)
        self.server = server

    async def _run(self, action: Any, dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
        for event in self.events:
            # Rasa stamps every event, and gives every message an id.
            event.setdefault("timestamp", time.time())
            if event.get("event") == "user":
                event.setdefault("message_id", uuid.uuid4().hex)
        call: dict[str, Any] = {
            "next_action": action.name(),
            "sender_id": self.sender,
            "tracker": self.tracker().current_state(),
            "version": "3.6.21",
        }
        if action.name().startswith("validate_"):
            call["domain"] = self.domain
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                self.server.url,
                json=call,
                headers={"Authorization": f"Bearer {self.server.token}"},
            )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        dispatcher.messages.extend(body["responses"])
        self._apply(body["events"])
        return list(body["events"])


def backend_client_placeholder() -> BackendClient:
    return BackendClient("http://127.0.0.1:9", "unused")


async def a_customer_with_one_active_card(sandbox: RecordedSandbox, skip: int = 0) -> str:
    async with httpx.AsyncClient(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {SERVICE_SECRET}"}
    ) as http:
        for number in range(1, 61):
            customer = f"C{number:05d}"
            headers = {"X-Customer-Id": customer}
            profile = (await http.get(PROFILE_PATH, headers=headers)).json()
            if profile["account_locked"] or "debit_card" not in profile["products"]:
                continue
            cards = (await http.get(CARDS_PATH, headers=headers)).json()["cards"]
            if [card["status"] for card in cards] == ["active"]:
                if skip == 0:
                    return customer
                skip -= 1
    raise AssertionError("no customer of the sandbox has exactly one card, active")


async def card_statuses(sandbox: RecordedSandbox, customer: str) -> list[str]:
    async with httpx.AsyncClient(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {SERVICE_SECRET}"}
    ) as http:
        cards = (await http.get(CARDS_PATH, headers={"X-Customer-Id": customer})).json()
    return [card["status"] for card in cards["cards"]]


def served_since(sandbox: RecordedSandbox, start: int) -> list[Served]:
    return sandbox.recording.served[start:]


def repeated_reads(served: list[Served]) -> dict[str, int]:
    reads = Counter(each.path for each in served if each.method == "GET")
    return {path: count for path, count in reads.items() if count > 1}


async def freeze_the_card(
    chat: ActionServerConversation, sandbox: RecordedSandbox, customer: str
) -> list[list[Served]]:
    """'Freeze my card', 'yes', the SMS code: what the back end served in each turn."""
    turns: list[list[Served]] = []
    start = len(sandbox.recording.served)
    await chat.say("freeze my card", "bank_freeze_card")
    assert "utter_confirm_bank_freeze_card" in chat.last_responses, chat.last_responses
    turns.append(served_since(sandbox, start))
    start = len(sandbox.recording.served)
    await chat.say("yes", "affirm")
    assert "utter_verification_code_sent" in chat.last_responses, chat.last_responses
    turns.append(served_since(sandbox, start))
    start = len(sandbox.recording.served)
    await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert "utter_bank_card_frozen" in chat.last_responses, chat.last_responses
    turns.append(served_since(sandbox, start))
    return turns


async def test_freezing_a_card_reads_nothing_twice_in_a_turn_and_the_profile_once(
    sandbox: RecordedSandbox, action_servers: list[ActionServer], domain_dict: dict[str, Any]
) -> None:
    customer = await a_customer_with_one_active_card(sandbox)
    chat = ActionServerConversation(customer, action_servers[0], domain_dict)
    turns = await freeze_the_card(chat, sandbox, customer)
    everything = [each for turn in turns for each in turn]
    print(
        "back-end calls per turn of freezing a card:",
        [[f"{each.method} {each.path}" for each in turn] for turn in turns],
    )
    for number, turn in enumerate(turns, start=1):
        assert not repeated_reads(turn), f"turn {number} read again: {repeated_reads(turn)}"
    assert Counter(each.path for each in everything if each.method == "GET")[PROFILE_PATH] == 1
    assert {each.customer for each in everything} == {customer}
    assert await card_statuses(sandbox, customer) == ["frozen"]
    # Two reads (the profile and the cards), the code sent, the code checked, the freeze.
    assert len(everything) == 5, everything


async def test_after_a_freeze_the_frozen_card_is_shown_and_offered_to_unfreeze(
    sandbox: RecordedSandbox, action_servers: list[ActionServer], domain_dict: dict[str, Any]
) -> None:
    """The freeze runs on one action server; the other, which read the card as active in the
    first turn, answers next: it offers to unfreeze the card and shows it frozen."""
    customer = await a_customer_with_one_active_card(sandbox, skip=1)
    first, other = action_servers
    chat = ActionServerConversation(customer, other, domain_dict)
    await chat.say("freeze my card", "bank_freeze_card")
    chat.server = first
    await chat.say("yes", "affirm")
    await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert "utter_bank_card_frozen" in chat.last_responses, chat.last_responses
    chat.server = other
    await chat.say("unfreeze my card", "bank_unfreeze_card")
    assert "utter_confirm_bank_unfreeze_card" in chat.last_responses, chat.last_responses
    await chat.say("cancel", "cancel")
    replies = await chat.say("show my cards", "bank_cards")
    assert any("frozen" in reply.lower() for reply in replies), replies


async def test_two_customers_at_once_each_see_only_their_own_cards(
    sandbox: RecordedSandbox, action_servers: list[ActionServer], domain_dict: dict[str, Any]
) -> None:
    one = await a_customer_with_one_active_card(sandbox, skip=2)
    another = await a_customer_with_one_active_card(sandbox, skip=3)
    chats = {
        customer: ActionServerConversation(customer, action_servers[0], domain_dict)
        for customer in (one, another)
    }
    replies: dict[str, str] = {}
    for customer, chat in chats.items():
        start = len(sandbox.recording.served)
        replies[customer] = " ".join(await chat.say("show my cards", "bank_cards"))
        assert {each.customer for each in served_since(sandbox, start)} == {customer}
    async with BackendClient(sandbox.base_url, SERVICE_SECRET) as client:
        for customer, reply in replies.items():
            other = another if customer == one else one
            for holder, shown in ((customer, True), (other, False)):
                listed = await client.call(holder, "GET", CARDS_PATH)
                for card in listed["cards"]:
                    assert (card["card_number_masked"][-4:] in reply) is shown, reply


# -- the client's kept reads, on their own -----------------------------------------------------
class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.slow_reads = 0.0
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(
            (request.method, request.url.path, request.headers.get("X-Customer-Id", ""))
        )
        if request.method == "GET":
            await asyncio.sleep(self.slow_reads)
        return await self._real.handle_async_request(request)


@pytest.fixture
async def counted(
    sandbox: RecordedSandbox,
) -> AsyncIterator[tuple[BackendClient, CountingTransport, list[float]]]:
    transport = CountingTransport()
    now = [0.0]
    cache = ReadCache(max_customers=2, session_seconds=300, clock=lambda: now[0])
    async with BackendClient(
        sandbox.base_url, SERVICE_SECRET, transport=transport, read_cache=cache
    ) as client:
        yield client, transport, now


async def test_the_same_turn_and_scope_never_serve_one_customer_anothers_reads(counted) -> None:
    client, transport, _ = counted
    keep_reads_for(ReadScope("one turn", "none"))
    mine = await client.call("C00001", "GET", CARDS_PATH, session_wide=True)
    theirs = await client.call("C00002", "GET", CARDS_PATH, session_wide=True)
    assert transport.requests == [
        ("GET", CARDS_PATH, "C00001"),
        ("GET", CARDS_PATH, "C00002"),
    ]
    assert mine != theirs
    assert await client.call("C00002", "GET", CARDS_PATH) == theirs
    assert len(transport.requests) == 2


def profile_reads(transport: CountingTransport) -> int:
    return [path for _, path, _ in transport.requests].count(PROFILE_PATH)


async def test_kept_reads_age_out_are_bounded_and_go_at_a_write(counted) -> None:
    client, transport, now = counted
    wallet = "/v1/customers/me/wallet"
    keep_reads_for(ReadScope("turn 1", "none"))
    await client.get_profile("C00001")
    await client.call("C00001", "GET", wallet)
    # Activity is read again the next turn; the profile serves the session...
    keep_reads_for(ReadScope("turn 2", "none"))
    await client.call("C00001", "GET", wallet)
    await client.get_profile("C00001")
    assert profile_reads(transport) == 1
    assert [path for _, path, _ in transport.requests].count(wallet) == 2
    # ...until it is too old,
    now[0] = 301
    await client.get_profile("C00001")
    assert profile_reads(transport) == 2
    # or what the customer holds may have changed: here, a write the back end refused,
    with pytest.raises(BackendError):
        await client.call("C00001", "POST", "/v1/customers/me/cards/NO-SUCH-CARD/freeze")
    await client.get_profile("C00001")
    assert profile_reads(transport) == 3
    # or a write happened in another process, which the conversation tells.
    keep_reads_for(ReadScope("turn 2", "after an operation"))
    await client.get_profile("C00001")
    assert profile_reads(transport) == 4
    # At most two customers are kept: the least recently served goes first.
    await client.get_profile("C00002")
    await client.get_profile("C00003")
    assert client.read_cache is not None and len(client.read_cache) == 2
    await client.get_profile("C00001")
    assert profile_reads(transport) == 7


async def test_a_read_answered_while_a_write_was_under_way_is_not_kept(counted) -> None:
    client, transport, _ = counted
    keep_reads_for(ReadScope("turn 1", "none"))
    transport.slow_reads = 0.3
    reading = asyncio.create_task(client.get_profile("C00001"))
    await asyncio.sleep(0.1)
    with pytest.raises(BackendError):
        await client.call("C00001", "POST", "/v1/customers/me/cards/NO-SUCH-CARD/freeze")
    await reading
    transport.slow_reads = 0.0
    await client.get_profile("C00001")
    assert profile_reads(transport) == 2
