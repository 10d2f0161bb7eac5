"""The Redis lock store that several Rasa servers share (common/lock_store.py), on this
machine's Redis: however many servers take messages of one conversation at the same moment,
one at a time handles them, in the order their tickets were drawn, and a finished
conversation leaves no lock behind."""

from __future__ import annotations

import asyncio
import secrets
import threading

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from common.lock_store import AtomicRedisLockStore
from tests.e2e.production_services import REDIS_ADDRESS, require_servers

SERVERS = 4
MESSAGES_PER_SERVER = 60
# The test's own Redis database and key prefix; nothing else of the project's uses them.
TEST_DB = 5


@pytest.fixture
def key_prefix() -> str:
    require_servers("redis")
    prefix = f"fincslocktest{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis(*REDIS_ADDRESS, db=TEST_DB)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def lock_store(key_prefix: str) -> AtomicRedisLockStore:
    """One server's lock store, as Rasa makes it from endpoints.yml."""
    host, port = REDIS_ADDRESS
    return AtomicRedisLockStore(
        EndpointConfig(url=host, port=port, db=TEST_DB, key_prefix=key_prefix)
    )


def test_servers_taking_one_conversation_at_once_handle_its_messages_one_at_a_time(key_prefix):
    conversation = "customer:C00003"
    guard = threading.Lock()
    handling: list[int] = []
    most_at_once = 0
    handled = 0

    async def handle_messages(store: AtomicRedisLockStore) -> None:
        nonlocal most_at_once, handled
        for _ in range(MESSAGES_PER_SERVER):
            async with store.lock(conversation, wait_time_in_seconds=0.001):
                with guard:
                    handling.append(1)
                    most_at_once = max(most_at_once, len(handling))
                await asyncio.sleep(0.0005)
                with guard:
                    handling.pop()
                    handled += 1

    servers = [
        threading.Thread(target=asyncio.run, args=(handle_messages(lock_store(key_prefix)),))
        for _ in range(SERVERS)
    ]
    for server in servers:
        server.start()
    for server in servers:
        server.join(timeout=120)

    assert handled == SERVERS * MESSAGES_PER_SERVER
    assert most_at_once == 1
    assert lock_store(key_prefix).get_lock(conversation) is None


def test_tickets_drawn_at_once_on_several_servers_are_all_different_and_served_in_order(
    key_prefix,
):
    conversation = "customer:C00004"
    drawn: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(SERVERS)

    def draw(store: AtomicRedisLockStore) -> None:
        start.wait()
        for _ in range(MESSAGES_PER_SERVER):
            ticket = store.issue_ticket(conversation, lock_lifetime=60)
            with guard:
                drawn.append(ticket)

    servers = [
        threading.Thread(target=draw, args=(lock_store(key_prefix),)) for _ in range(SERVERS)
    ]
    for server in servers:
        server.start()
    for server in servers:
        server.join(timeout=120)

    assert sorted(drawn) == list(range(SERVERS * MESSAGES_PER_SERVER))
    store = lock_store(key_prefix)
    assert store.get_lock(conversation).now_serving == 0
    store.cleanup(conversation, 0)
    assert store.get_lock(conversation).now_serving == 1
