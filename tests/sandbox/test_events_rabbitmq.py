"""The production profile's queue of back-end events for real: the sandbox publishes its outbox to
this machine's RabbitMQ (a virtual host of the test's own), in order, as persistent messages
the broker confirmed; what a stop left unpublished goes out at the next start; a broker that
cannot be reached does not stop the sandbox."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from common.ports import free_port
from common.store_checks import amqp_url
from services.sandbox.config import Settings
from services.sandbox.outbox import EXCHANGE
from services.sandbox.thread_server import SandboxThread
from tests.e2e.production_services import fresh_rabbitmq_vhost, require_servers
from tests.sandbox.conftest import SERVICE_SECRET, RunningSandbox

VHOST = "fincs_test_events"
QUEUE = "notifier_under_test"
WAIT_SECONDS = 15
# A customer every kind used here applies to.
HOLDS_A_WALLET_AND_A_CARD = (
    "EXISTS (SELECT 1 FROM wallets w WHERE w.customer_id = c.id)"
    " AND EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id AND k.status = 'active')"
)


@pytest.fixture(scope="module")
def broker_url() -> str:
    require_servers("rabbitmq")
    return amqp_url(fresh_rabbitmq_vhost(VHOST), "guest", "guest")


@pytest.fixture
def queue(broker_url: str) -> str:
    """A consumer's durable queue bound to the exchange, empty, as the notifier keeps one."""

    async def declare() -> None:
        connection = await aio_pika.connect(broker_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
            )
            declared = await channel.declare_queue(QUEUE, durable=True)
            await declared.bind(exchange)
            await declared.purge()

    asyncio.run(declare())
    return QUEUE


def received(broker_url: str, queue: str, count: int) -> list[aio_pika.IncomingMessage]:
    """The next ``count`` messages of the queue (acknowledged), waiting for them a while."""

    async def drain() -> list[aio_pika.IncomingMessage]:
        connection = await aio_pika.connect(broker_url)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, durable=True, passive=True)
            messages: list[aio_pika.IncomingMessage] = []
            deadline = time.monotonic() + WAIT_SECONDS
            while len(messages) < count and time.monotonic() < deadline:
                message = await declared.get(fail=False)
                if message is None:
                    await asyncio.sleep(0.1)
                    continue
                await message.ack()
                messages.append(message)
            return messages

    return asyncio.run(drain())


def waiting(broker_url: str, queue: str) -> int:
    async def count() -> int:
        connection = await aio_pika.connect(broker_url)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, durable=True, passive=True)
            return declared.declaration_result.message_count or 0

    return asyncio.run(count())


class Sandbox:
    """One sandbox over a database file that outlives it, started with or without the broker."""

    def __init__(self, directory: Path) -> None:
        path = directory / "sandbox.db"
        self.async_url = f"sqlite+aiosqlite:///{path}"
        self.db = RunningSandbox("sqlite", "", f"sqlite:///{path}")
        self.server: SandboxThread | None = None

    def start(self, events_amqp_url: str | None) -> Sandbox:
        settings = Settings(
            database_url=self.async_url,
            service_secret=SERVICE_SECRET,
            customers=40,
            seed=7,
            events_amqp_url=events_amqp_url,
        )
        self.server = SandboxThread(settings).start()
        self.db.base_url = self.server.base_url
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def make(self, kind: str) -> dict[str, Any]:
        customer = self.db.customers(HOLDS_A_WALLET_AND_A_CARD)[0]
        with self.db.client() as http:
            answer = http.post("/sandbox/events", json={"customer_id": customer, "kind": kind})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def unpublished(self) -> list[str]:
        rows = self.db.rows(
            "SELECT event_id FROM event_outbox WHERE published_at IS NULL ORDER BY seq"
        )
        return [row[0] for row in rows]

    def all_published(self) -> bool:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.unpublished() and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.unpublished()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(tmp_path)
    yield running
    running.stop()
    running.db.close()


def body(message: aio_pika.IncomingMessage) -> dict[str, Any]:
    return json.loads(message.body)


def test_each_event_is_published_once_in_order_as_a_persistent_json_message(
    broker_url: str, queue: str, sandbox: Sandbox
) -> None:
    sandbox.start(broker_url)
    kinds = ("payment_failed", "suspicious_payment", "card_declined")
    made = [sandbox.make(kind) for kind in kinds]
    messages = received(broker_url, queue, 3)
    assert [body(m) for m in messages] == [
        {key: event[key] for key in ("event_id", "customer_id", "kind", "reference", "occurred_at")}
        for event in made
    ]
    for message, event in zip(messages, made, strict=True):
        assert message.message_id == event["event_id"]
        assert message.content_type == "application/json"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert sandbox.all_published()
    assert waiting(broker_url, queue) == 0  # nothing published twice


def test_what_was_left_unpublished_goes_out_at_the_next_start(
    broker_url: str, queue: str, sandbox: Sandbox
) -> None:
    sandbox.start(broker_url)
    first = sandbox.make("payment_failed")
    assert [body(m)["event_id"] for m in received(broker_url, queue, 1)] == [first["event_id"]]
    assert sandbox.all_published()
    sandbox.stop()

    # Without the broker (as after a crash between the commit and the publication) the rows
    # wait in the outbox and nothing is published.
    sandbox.start(None)
    waited = [sandbox.make(kind)["event_id"] for kind in ("refund_arrived", "payment_failed")]
    assert sandbox.unpublished() == waited
    assert waiting(broker_url, queue) == 0
    sandbox.stop()

    sandbox.start(broker_url)
    assert sandbox.all_published()
    assert [body(m)["event_id"] for m in received(broker_url, queue, 2)] == waited
    # The first event, published before, is not published again.
    assert waiting(broker_url, queue) == 0


def test_a_row_published_but_not_marked_is_published_again_with_the_same_id(
    broker_url: str, queue: str, sandbox: Sandbox
) -> None:
    sandbox.start(broker_url)
    event = sandbox.make("card_declined")
    assert len(received(broker_url, queue, 1)) == 1
    assert sandbox.all_published()
    sandbox.stop()
    # A crash after the broker confirmed but before published_at was written.
    sandbox.db.execute("UPDATE event_outbox SET published_at = NULL")
    sandbox.start(broker_url)
    again = received(broker_url, queue, 1)
    assert [m.message_id for m in again] == [event["event_id"]]  # consumers dedupe on it
    assert sandbox.all_published()


def test_a_broker_out_of_reach_stops_nothing_and_the_event_waits(sandbox: Sandbox) -> None:
    sandbox.start(f"amqp://guest:guest@127.0.0.1:{free_port()}/nowhere")
    event = sandbox.make("suspicious_payment")
    with httpx.Client(base_url=sandbox.db.base_url) as http:
        assert http.get("/healthz").status_code == 200
    assert sandbox.unpublished() == [event["event_id"]]
