"""No silent data loss when set up wrong, on this machine's PostgreSQL, Redis and RabbitMQ.

The README's production example once started and chatted with its tracker database missing:
Rasa kept the conversations in memory. Now the missing database is created, a store that
cannot be reached stops `scripts/run` naming it, and a Rasa server started by itself with an
unreachable tracker store exits instead of chatting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2
import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from common import tracker_store
from common.environment import PROJECT_ROOT, process_environment
from common.ports import free_port
from common.store_checks import PROJECT_TRACKER_STORE, StoreSettings, check_databases
from common.tracker_store import StrictSQLTrackerStore
from tests.e2e.production_services import (
    POSTGRES_ADMIN_DSN,
    POSTGRES_HOST_URL,
    require_servers,
)
from tooling.processes import rasa_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PASSWORD = "not-to-be-printed-7f3a"
# The project's own test databases and virtual host on this machine's servers.
TRACKER_DATABASE = "fincs_store_check_tracker"
DESK_DATABASE = "fincs_store_check_desk"
SANDBOX_DATABASE = "fincs_store_check_sandbox"
VIRTUAL_HOST = "fincs_store_check"


def missing_postgres_database(name: str) -> str:
    """Makes sure the database does not exist; returns its URL."""
    connection = psycopg2.connect(POSTGRES_ADMIN_DSN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
    return f"{POSTGRES_HOST_URL}/{name}"


def postgres_databases() -> set[str]:
    connection = psycopg2.connect(POSTGRES_ADMIN_DSN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        names = {name for (name,) in cursor.fetchall()}
    connection.close()
    return names


def virtual_hosts() -> set[str]:
    listing = subprocess.run(
        ["rabbitmqctl", "list_vhosts", "--quiet", "--no-table-headers"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(listing.stdout.split())


def conversation(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen"),
            UserUttered("I lost my card"),
            BotUttered("I've blocked it."),
        ],
    )


def project_tracker_store(url: str) -> TrackerStore:
    """The tracker store as Rasa's own factory builds it from endpoints.yml."""
    return TrackerStore.create(
        EndpointConfig(type=PROJECT_TRACKER_STORE, url=url), domain=Domain.empty()
    )


def test_a_missing_tracker_database_is_created_and_keeps_conversations_across_a_restart():
    require_servers("postgres")
    url = missing_postgres_database(TRACKER_DATABASE)

    first = project_tracker_store(url)
    assert isinstance(first, StrictSQLTrackerStore)
    asyncio.run(first.save(conversation("lost-card")))
    first.engine.dispose()

    second = project_tracker_store(url)
    restored = asyncio.run(second.retrieve("lost-card"))
    second.engine.dispose()
    assert restored is not None
    assert [event.text for event in restored.events if isinstance(event, UserUttered)] == [
        "I lost my card"
    ]


def test_the_postgres_tracker_store_gets_its_pool_and_index_at_every_start(
    monkeypatch: pytest.MonkeyPatch,
):
    require_servers("postgres")
    url = missing_postgres_database(TRACKER_DATABASE)
    monkeypatch.setenv("TRACKER_STORE_POOL_SIZE", "3")
    tracker_store.tracker_store_settings.cache_clear()
    try:
        # A second start on the same database finds the tables and the index already there.
        stores = [project_tracker_store(url) for _ in range(2)]
    finally:
        tracker_store.tracker_store_settings.cache_clear()
    assert [store.engine.pool.size() for store in stores] == [3, 3]
    with stores[1].engine.connect() as connection:
        indexes = connection.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events'"
        ).scalars()
        assert any('(sender_id, type_name, "timestamp")' in each for each in indexes)
    for store in stores:
        store.engine.dispose()


def test_scripts_run_creates_the_projects_databases_and_virtual_host():
    require_servers("postgres", "redis", "rabbitmq")
    subprocess.run(["rabbitmqctl", "delete_vhost", VIRTUAL_HOST], capture_output=True)
    environment = process_environment(
        "production",
        TRACKER_STORE_URL=missing_postgres_database(TRACKER_DATABASE),
        DESK_DATABASE_URL=missing_postgres_database(DESK_DATABASE).replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
        SANDBOX_DATABASE_URL=missing_postgres_database(SANDBOX_DATABASE).replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
        EVENT_BROKER_URL=f"amqp://127.0.0.1:5672/{VIRTUAL_HOST}",
    )
    report = check_databases(StoreSettings.from_environment(environment), create_virtual_host=True)
    assert {TRACKER_DATABASE, DESK_DATABASE, SANDBOX_DATABASE} <= postgres_databases()
    assert VIRTUAL_HOST in virtual_hosts()
    assert sum("created" in line for line in report) == 4


def run_launcher(**overrides: str) -> subprocess.CompletedProcess[str]:
    """`scripts/run` on the production profile with ``overrides``; it must stop by itself."""
    environment = process_environment("production", DEPLOYMENT_PROFILE="production", **overrides)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "tooling.launcher"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = launcher.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        # It went on to start servers: Ctrl-C stops them as it would for an operator.
        launcher.send_signal(signal.SIGINT)
        stdout, stderr = launcher.communicate(timeout=60)
        pytest.fail(f"scripts/run did not stop on an unusable store:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(launcher.args, launcher.returncode, stdout, stderr)


@pytest.mark.parametrize("store", ["tracker store", "lock store", "event broker"])
def test_an_unreachable_store_stops_scripts_run_naming_it(store: str, tmp_path: Path):
    closed = free_port()
    reachable_tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    overrides = {
        "tracker store": {
            "TRACKER_STORE_URL": f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed}/fincs"
        },
        "lock store": {"TRACKER_STORE_URL": reachable_tracker, "LOCK_STORE_PORT": str(closed)},
        "event broker": {
            "TRACKER_STORE_URL": reachable_tracker,
            "EVENT_BROKER_URL": f"amqp://127.0.0.1:{closed}/fincs",
            "EVENT_BROKER_PASSWORD": PASSWORD,
        },
    }[store]
    if store == "event broker":
        require_servers("redis")

    stopped = run_launcher(**overrides)

    assert stopped.returncode != 0
    assert f"Not started: {store} (" in stopped.stderr
    assert f"127.0.0.1:{closed}" in stopped.stderr
    assert PASSWORD not in stopped.stdout + stopped.stderr
    # Nothing was started, so nothing can have chatted from memory.
    assert "Starting" not in stopped.stdout


def said_hello(port: int) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        json.dumps({"sender": "store-check", "message": "hello"}).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def test_a_rasa_server_whose_tracker_store_cannot_be_reached_exits_instead_of_chatting(
    trained_model: Path, tmp_path: Path
):
    closed, port = free_port(), free_port()
    environment = process_environment(
        "embedded",
        DEPLOYMENT_PROFILE="embedded",
        TRACKER_STORE_URL=f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed}/fincs_tracker",
        EVENT_BROKER_URL=f"sqlite:///{tmp_path / 'events.db'}",
    )
    assert environment["TRACKER_STORE_TYPE"] == PROJECT_TRACKER_STORE
    server = rasa_server(trained_model, port, environment)
    server.log_dir = tmp_path
    server.start()
    assert server.process is not None
    answered = False
    deadline = time.monotonic() + 120
    try:
        while server.process.poll() is None and time.monotonic() < deadline:
            if said_hello(port):
                answered = True
                break
            time.sleep(0.5)
        exit_code = server.process.poll()
    finally:
        server.stop()

    log = server.log_path.read_text(errors="replace")
    assert not answered, "the Rasa server chatted without its tracker store"
    assert exit_code not in (None, 0), log[-2000:]
    assert (
        f"tracker store (TRACKER_STORE_URL) cannot be used at "
        f"postgresql://postgres:***@127.0.0.1:{closed}/fincs_tracker" in log
    )
    assert PASSWORD not in log


class CuttablePostgres:
    """A TCP relay to this machine's PostgreSQL that can drop every connection and refuse new
    ones for a while, as a restart of the database server does, without touching the server."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down_until = 0.0
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_for(self, seconds: float) -> None:
        self.down_until = time.monotonic() + seconds
        for connection in self.open:
            connection.close()
        self.open.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if time.monotonic() < self.down_until:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", 5432))
            self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()


def test_a_conversation_saved_while_postgresql_restarts_is_stored_not_kept_in_memory():
    require_servers("postgres")
    direct_url = missing_postgres_database(TRACKER_DATABASE)
    relay = CuttablePostgres()
    store = project_tracker_store(direct_url.replace(":5432/", f":{relay.port}/"))
    tracker = conversation("restart")
    asyncio.run(store.save(tracker))

    # The customer's next message arrives while the database is down for a second.
    relay.cut_for(1.0)
    tracker.update(UserUttered("and my other card?"))
    asyncio.run(store.save(tracker))
    store.engine.dispose()

    reader = project_tracker_store(direct_url)
    stored = asyncio.run(reader.retrieve("restart"))
    reader.engine.dispose()
    assert stored is not None
    assert [event.text for event in stored.events if isinstance(event, UserUttered)] == [
        "I lost my card",
        "and my other card?",
    ]
