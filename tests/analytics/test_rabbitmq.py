"""The production profile's stores for real: Rasa's own Pika broker publishes to this machine's
RabbitMQ (a virtual host of the test's own) and the analytics consumer stores what it reads in
PostgreSQL (a database of the test's own), acknowledging only after the commit, so nothing is
lost or counted twice."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import aio_pika
import pytest
from rasa.core.brokers.pika import PikaEventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics import store
from analytics.ingest import Ingestor, PikaConsumer, catalogue_lines
from analytics.store import open_store
from clients.analytics import AnalyticsClient, KpiFilters
from common.environment import FIXED_SETTINGS, read_profile
from common.ports import free_port
from common.store_checks import amqp_url
from tests.analytics.conversations import Conversation, at
from tests.e2e.production_services import (
    fresh_postgres_database,
    fresh_rabbitmq_vhost,
    require_servers,
)
from tooling.processes import analytics_server

VHOST = "fincs_analytics_test"
SERVICE_SECRET = "test-analytics-service-secret-0123"
PUBLISH_SECONDS = 10


def a_conversation() -> Conversation:
    talk = Conversation("customer:C00020", "2026-11-08 09:00")
    talk.user("block my card", "bank_freeze_card").resolved("bank:bank_freeze_card", after=8)
    talk.asked_to_rate().rates(5)
    return talk


async def publish_with_rasa(vhost_url: str, queue_name: str, conversation: Conversation) -> None:
    """As the Rasa server publishes: its PikaEventBroker, configured as endpoints.yml does;
    returns once every event waits in the analytics queue (Rasa publishes in the background)."""
    config = EndpointConfig(url=vhost_url, username="guest", password="guest", type="pika")
    broker = await PikaEventBroker.from_endpoint_config(config, asyncio.get_running_loop())
    assert broker is not None
    for event in conversation.events:
        broker.publish(event)
    connection = await aio_pika.connect(amqp_url(vhost_url, "guest", "guest"))
    try:
        channel = await connection.channel()
        deadline = asyncio.get_running_loop().time() + PUBLISH_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            queue = await channel.declare_queue(queue_name, passive=True)
            if queue.declaration_result.message_count >= len(conversation.events):
                break
            await asyncio.sleep(0.1)
    finally:
        await connection.close()
        await broker.close()


def stored_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(store.events)).scalar())


async def read_all(consumer: PikaConsumer) -> int:
    read = 0
    while batch := await consumer.read_once():
        read += batch
    return read


@pytest.fixture(scope="module")
def vhost_url() -> str:
    require_servers("rabbitmq")
    return fresh_rabbitmq_vhost(VHOST)


@pytest.fixture
def queue(request: pytest.FixtureRequest) -> str:
    """A queue of the test's own: the exchange copies every event to each bound queue."""
    return f"analytics_{request.node.name[5:60]}"


@pytest.fixture
def ingestor() -> Ingestor:
    require_servers("postgres")
    engine = open_store(fresh_postgres_database("fincs_analytics_test"))
    return Ingestor(
        engine, catalogue_lines(), idle_seconds=1800, clock=lambda: at("2026-12-01 00:00")
    )


async def test_events_published_by_rasa_are_stored_once(
    vhost_url: str, queue: str, ingestor: Ingestor
):
    url = amqp_url(vhost_url, "guest", "guest")
    consumer = PikaConsumer(url, ingestor, queue=queue, batch_size=5)
    # The service's queue exists from its first start: events published while it is down wait.
    assert await consumer.read_once() == 0
    await consumer.close()
    talk = a_conversation()
    await publish_with_rasa(vhost_url, queue, talk)

    restarted = PikaConsumer(url, ingestor, queue=queue, batch_size=5)
    assert await read_all(restarted) == len(talk.events)
    assert stored_events(ingestor.engine) == len(talk.events)
    with ingestor.engine.connect() as connection:
        (session,) = connection.execute(select(store.sessions)).mappings()
    assert session["resolved"] and session["rating"] == 5 and session["line"] == "bank"
    # Everything was acknowledged: a restart reads nothing.
    await restarted.close()
    again = PikaConsumer(url, ingestor, queue=queue)
    assert await read_all(again) == 0
    await again.close()
    ingestor.engine.dispose()


async def test_a_crash_between_the_commit_and_the_acknowledgement_counts_once(
    vhost_url: str, queue: str, ingestor: Ingestor
):
    url = amqp_url(vhost_url, "guest", "guest")
    consumer = PikaConsumer(url, ingestor, queue=queue)
    await consumer.read_once()
    await consumer.close()
    talk = a_conversation()
    await publish_with_rasa(vhost_url, queue, talk)

    # A consumer that stored the events and died before acknowledging them.
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    waiting = await channel.get_queue(queue)
    bodies = []
    while (message := await waiting.get(no_ack=False, fail=False)) is not None:
        bodies.append(message.body)
    ingestor.store_batch([json.loads(body) for body in bodies])
    await connection.close()
    assert stored_events(ingestor.engine) == len(talk.events)

    # RabbitMQ delivers them again; the second copies are no-ops.
    restarted = PikaConsumer(url, ingestor, queue=queue)
    assert await read_all(restarted) == len(talk.events)
    assert stored_events(ingestor.engine) == len(talk.events)
    await restarted.close()
    ingestor.engine.dispose()


async def test_a_failed_commit_leaves_the_events_in_the_queue(
    vhost_url: str, queue: str, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
):
    url = amqp_url(vhost_url, "guest", "guest")
    consumer = PikaConsumer(url, ingestor, queue=queue)
    await consumer.read_once()
    talk = a_conversation()
    await publish_with_rasa(vhost_url, queue, talk)

    def database_down(events: object) -> int:
        raise ConnectionError("the analytics database is restarting")

    with monkeypatch.context() as patched:
        patched.setattr(ingestor, "store_batch", database_down)
        with pytest.raises(ConnectionError):
            await consumer.read_once()
    assert stored_events(ingestor.engine) == 0
    assert await read_all(consumer) == len(talk.events)
    assert stored_events(ingestor.engine) == len(talk.events)
    await consumer.close()
    ingestor.engine.dispose()


async def test_the_production_profiles_service_reads_rabbitmq_into_postgresql(
    vhost_url: str, tmp_path: Path
) -> None:
    require_servers("postgres")
    database = fresh_postgres_database("fincs_analytics_service_test")
    port = free_port()
    environment = {
        **read_profile("production"),
        "EVENT_BROKER_URL": vhost_url,
        "ANALYTICS_DATABASE_URL": database,
        "ANALYTICS_SERVICE_SECRET": SERVICE_SECRET,
        "ANALYTICS_EVENT_QUEUE": "analytics_service_test",
        "ANALYTICS_POLL_SECONDS": "0.2",
    }
    server = analytics_server(port, {**os.environ, **FIXED_SETTINGS, **environment})
    server.log_dir = tmp_path
    client = AnalyticsClient(f"http://127.0.0.1:{port}", SERVICE_SECRET)
    try:
        server.start().wait_until_ready(60)
        await publish_with_rasa(vhost_url, "analytics_service_test", a_conversation())
        deadline = time.monotonic() + 20
        while (figures := await client.kpis(KpiFilters()))["sessions"] < 1:
            assert time.monotonic() < deadline, server.log_tail()
            await asyncio.sleep(0.2)
        assert figures["self_service_rate"] == 1.0 and figures["satisfaction"]["csat"] == 1.0
    finally:
        await client.aclose()
        server.stop()
