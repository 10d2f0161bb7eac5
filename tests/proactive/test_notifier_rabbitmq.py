"""The production profile's queue for real: the sandbox publishes its events to this machine's
RabbitMQ (a virtual host of the test's own), and the notifier reads them through its own
durable queue into PostgreSQL (a database of the test's own), acknowledging only after the
commit. A message given again, by a crash before the acknowledgement or by the back end
publishing it twice, is noticed once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest

from clients.backend import BackendClient
from common.assistant_settings import ServiceLink
from common.customer_binding import bound_sender_id
from common.event_stream import DurableQueueReader
from common.store_checks import amqp_url
from proactive import notifier_store as store
from proactive.notifier import Notifier, NotifierLoop, RasaConversations, event_reader
from proactive.notifier_settings import BACKEND_EVENTS_EXCHANGE, NotifierSettings
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread
from tests.e2e.production_services import (
    fresh_postgres_database,
    fresh_rabbitmq_vhost,
    require_servers,
)
from tests.proactive.notifier_helpers import (
    RASA_TOKEN,
    SECRET,
    FakeRasa,
    make_event,
    serve_fake_rasa,
    set_notifications,
)

VHOST = "fincs_notifier_test"
DATABASE = "fincs_notifier_test"
PUBLISH_SECONDS = 20


class Crash(Exception):
    """The notifier dies after its commit, before the acknowledgement."""


@pytest.fixture(scope="module")
def events_url() -> str:
    require_servers("rabbitmq", "postgres")
    return amqp_url(fresh_rabbitmq_vhost(VHOST), "guest", "guest")


@pytest.fixture(scope="module")
def sandbox(events_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("notifier_rabbitmq") / "sandbox.db"
    server = SandboxThread(
        Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            service_secret=SECRET,
            customers=20,
            seed=42,
            events_amqp_url=events_url,
        )
    ).start()
    yield server.base_url
    server.stop()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    server = serve_fake_rasa(fake)
    yield fake
    server.stop()


@pytest.fixture
def settings(
    events_url: str, sandbox: str, rasa: FakeRasa, request: pytest.FixtureRequest
) -> NotifierSettings:
    return NotifierSettings(
        rasa_url=rasa.url,
        rasa_api_token=RASA_TOKEN,
        backend=ServiceLink(sandbox, SECRET, 5.0),
        database_url=fresh_postgres_database(DATABASE),
        amqp_url=events_url,
        events_database_url=None,
        # A queue of the test's own: the exchange copies every event to each bound queue.
        queue=f"notifier_{request.node.name[5:60]}",
    )


@pytest.fixture
async def notifier(settings: NotifierSettings) -> AsyncIterator[Notifier]:
    engine = store.open_store(settings.database_url)
    async with BackendClient(settings.backend.url, SECRET) as backend:
        rasa = RasaConversations(settings.rasa_url, RASA_TOKEN)
        yield Notifier(settings, engine, backend, rasa)
        await rasa.aclose()
    engine.dispose()


async def run_until(loop: NotifierLoop, done, seconds: float = PUBLISH_SECONDS) -> None:
    """Rounds of the notifier until ``done()``, as the sandbox publishes in the background."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "the event never came through"
        if not await loop.run_once():
            await asyncio.sleep(0.2)


async def publish_again(url: str, event: dict) -> None:
    """The back end publishing an event a second time (it died before recording the first)."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            BACKEND_EVENTS_EXCHANGE, type=aio_pika.ExchangeType.FANOUT, durable=True
        )
        body = {key: event[key] for key in ("event_id", "customer_id", "kind", "reference")}
        body["occurred_at"] = event["occurred_at"]
        await exchange.publish(
            aio_pika.Message(json.dumps(body).encode(), message_id=event["event_id"]),
            routing_key="",
        )
    finally:
        await connection.close()


async def test_an_event_published_to_rabbitmq_is_noticed_once_even_when_given_again(
    sandbox: str, rasa: FakeRasa, settings: NotifierSettings, notifier: Notifier
) -> None:
    loop = NotifierLoop(notifier, event_reader(settings, notifier))
    # The notifier's queue exists from its first start: events published meanwhile wait.
    await loop.prepare()
    set_notifications(sandbox, "C00003", consent=True)
    event = make_event(sandbox, "C00003")
    conversation = bound_sender_id("C00003")
    await run_until(loop, lambda: rasa.notices_in(conversation))
    await publish_again(settings.amqp_url or "", event)
    await asyncio.sleep(0.5)
    while await loop.run_once():
        pass
    await loop.reader.close()
    assert rasa.notices_in(conversation) == [event["event_id"]]
    assert store.notice_status(notifier.engine)[event["event_id"]] == store.SENT


async def test_a_crash_between_the_commit_and_the_acknowledgement_notices_once(
    sandbox: str, rasa: FakeRasa, settings: NotifierSettings, notifier: Notifier
) -> None:
    def record_then_crash(bodies: list[bytes]) -> None:
        notifier.record_messages(bodies)
        raise Crash

    crashing = DurableQueueReader(
        settings.amqp_url or "",
        queue=settings.queue,
        exchange=settings.exchange,
        handle=record_then_crash,
        exchange_durable=True,
    )
    await crashing.ready_queue()
    set_notifications(sandbox, "C00004", consent=True)
    event = make_event(sandbox, "C00004")
    deadline = asyncio.get_running_loop().time() + PUBLISH_SECONDS
    while event["event_id"] not in store.notice_status(notifier.engine):
        assert asyncio.get_running_loop().time() < deadline, "the event never came through"
        try:
            await crashing.read_once()
        except Crash:
            break
        await asyncio.sleep(0.2)
    await crashing.close()
    # The restarted notifier is given the message again: it is already recorded.
    loop = NotifierLoop(notifier, event_reader(settings, notifier))
    conversation = bound_sender_id("C00004")
    await run_until(loop, lambda: rasa.notices_in(conversation))
    assert await loop.read_once() == 0, "the redelivered message was acknowledged"
    await loop.reader.close()
    assert rasa.notices_in(conversation) == [event["event_id"]]
