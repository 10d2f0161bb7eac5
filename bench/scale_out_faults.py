"""Faults under load on the scale-out profile: no conversation loses, repeats or reorders an event.

Starts the scale-out profile (tooling/scale_out.py: two Rasa servers and two action servers
behind HAProxy, PostgreSQL, the Redis lock store, RabbitMQ) on free loopback ports with
databases, a virtual host and a Redis of the run's own, then holds N signed-in conversations
over REST through the balancer. Each conversation says the turns of TURNS, one of them two
messages at once (the balancer hands them to different servers; the Redis lock store makes the
second wait for the first). While they run:

1. one Rasa server is killed (SIGKILL) at 30% of the messages answered;
2. an action server is stopped unannounced and started again at 45%;
3. the other action server is taken out of the balancer, its calls finished, restarted and put
   back at 55%;
4. the Redis of the lock store and the shared rate limits is restarted at 70% (a private
   redis-server on a port of its own: this machine's Redis is shared);
5. the tracker store's PostgreSQL is restarted at 85%, cutting its connections (a private
   server too, for the same reason).

A message that gets no answer (it was in flight on the killed server, or Redis was down) is
sent again by the customer after a moment, unless the tracker store shows it was taken after
all. Afterwards every conversation's events are read from PostgreSQL and checked: each message
stored once, in the order sent, each turn complete before the next begins, the bot's stored
answers the ones the customer got; and the events the broker published are counted.

Figures go to bench/results/scale_out.md (--smoke: 10 conversations and every fault, to
.cache/bench/scale_out/scale_out-smoke.md, or --out; tests/bench/test_scale_out_faults.py).

    .venv/bin/python -m bench.scale_out_faults [--smoke] [--conversations N] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg2
import redis

from bench.latency import pick_customers
from bench.report import provenance_fields, write_results
from common.customer_binding import bound_sender_id, issue_sign_in_token
from common.environment import PROJECT_ROOT
from common.ports import free_port
from common.settings import Environment
from tests.e2e.production_services import (
    drained_messages,
    fresh_postgres_database,
    fresh_rabbitmq_vhost,
)
from tooling.model_cache import ensure_model
from tooling.processes import Server
from tooling.scale_out import (
    SERVED_BY_HEADER,
    ScaleOut,
    ScaleOutSettings,
    restart_drained,
    scale_out,
    scale_out_environment,
    secret_names,
)

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "scale_out"
TURNS: tuple[tuple[str, ...], ...] = (
    ("/session_start",),
    ("hello",),
    ("are you a bot?", "what can you do?"),
    ("what's my bank balance?",),
    ("why was my card declined?",),
    ("show my recent wallet payments",),
    ("freeze my card",),
    ("no",),
    ("thanks, bye",),
)
MESSAGES_PER_CONVERSATION = sum(len(turn) for turn in TURNS)
# Messages the assistant may rightly answer with nothing.
MAY_GO_UNANSWERED = frozenset({"/session_start"})
# Enough seeded customers with a bank account, a wallet and one active debit card for 50.
SANDBOX_CUSTOMERS = 150
# Every simulated customer writes from this machine's one loopback address, which the
# channels' per-address limit (600 a minute, for many customers behind one NAT) would count as
# one crowd; per-customer limits stay as they are.
ADDRESS_MESSAGES_PER_MINUTE = 100_000
# How long a conversation waits for a ticket of its lock held by a server that died (Rasa's
# TICKET_LOCK_LIFETIME, 60 s by default): shorter here so a run takes minutes, still far above
# the longest turn measured.
LOCK_LIFETIME_SECONDS = 20
# A customer with no answer waits this long before sending the message again.
RESEND_AFTER_SECONDS = 1.0
MAX_ATTEMPTS = 5
REQUEST_TIMEOUT_SECONDS = 120
SIGN_IN_SECONDS = 3600
# How long the run's own reads of the tracker store wait for a restarting PostgreSQL.
STORE_READ_WAITS_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)
# Rasa's RabbitMQ broker publishes here when endpoints.yml names no queue.
EVENTS_QUEUE = "rasa_core_events"


# --- Who talks and what they got -----------------------------------------------------------


@dataclass
class Message:
    text: str
    attempts: int = 0
    # The last attempt's HTTP status; None when no answer came at all.
    status: int | None = None
    served_by: str | None = None
    replies: list[str | None] = field(default_factory=list)
    # Taken by a server that died before it answered: in the store, the answer never came.
    answer_lost: bool = False
    # Answers of HTTP 200 with no reply at all: how the REST channel answers a message it
    # failed to handle ("what was said so far, never a 500"), so the customer sends it again.
    empty_answers: int = 0

    @property
    def answered(self) -> bool:
        return self.status == 200 and (bool(self.replies) or self.text in MAY_GO_UNANSWERED)


@dataclass
class Conversation:
    customer_id: str
    token: str
    turns: list[list[Message]] = field(default_factory=list)

    @property
    def sender_id(self) -> str:
        return bound_sender_id(self.customer_id)

    def messages(self) -> list[Message]:
        return [message for turn in self.turns for message in turn]


def conversations_for(customers: list[str], signing_secret: str) -> list[Conversation]:
    return [
        Conversation(
            customer, issue_sign_in_token(customer, signing_secret.encode(), SIGN_IN_SECONDS)
        )
        for customer in customers
    ]


# --- The tracker store's own record ---------------------------------------------------------


@dataclass(frozen=True)
class StoredEvent:
    id: int
    type_name: str
    timestamp: float
    data: dict[str, Any]

    @property
    def is_action_listen(self) -> bool:
        return self.type_name == "action" and self.data.get("name") == "action_listen"


def stored_events(database_url: str, sender_id: str) -> list[StoredEvent]:
    """The conversation's events as Rasa's SQL tracker store keeps them, in the order written;
    read again while the database restarts (one of the faults), as a customer would wait."""
    for wait in STORE_READ_WAITS_SECONDS:
        try:
            return _stored_events(database_url, sender_id)
        except psycopg2.OperationalError:
            time.sleep(wait)
    return _stored_events(database_url, sender_id)


def _stored_events(database_url: str, sender_id: str) -> list[StoredEvent]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, type_name, timestamp, data FROM events"
                " WHERE sender_id = %s ORDER BY id",
                (sender_id,),
            )
            return [
                StoredEvent(i, kind, stamp, json.loads(data)) for i, kind, stamp, data in cursor
            ]
    finally:
        connection.close()


def stored_user_texts(database_url: str, sender_id: str) -> list[str]:
    return [
        e.data.get("text") for e in stored_events(database_url, sender_id) if e.type_name == "user"
    ]


@dataclass
class Findings:
    """What the stored events say about one or more conversations; all zero when sound."""

    messages_stored: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    interleaved_turns: int = 0
    replies_not_as_stored: int = 0

    def add(self, other: Findings) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def sound(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.out_of_order
            or self.interleaved_turns
            or self.replies_not_as_stored
        )


def check_conversation(conversation: Conversation, events: list[StoredEvent]) -> Findings:
    """Every message the customer sent (and a server took) stored exactly once, turns in the
    order sent (the two messages of one turn in either order), no turn begun before the one
    before it ended with action_listen, and the stored bot messages of each answered message
    the replies the customer got."""
    findings = Findings()
    user_indexes = [i for i, event in enumerate(events) if event.type_name == "user"]
    stored_texts = [events[i].data.get("text") for i in user_indexes]
    findings.messages_stored = len(stored_texts)
    copies = Counter(stored_texts)
    taken = [m for m in conversation.messages() if m.answered or m.answer_lost]
    findings.lost = sum(1 for message in taken if copies[message.text] == 0)
    findings.duplicated = sum(count - 1 for count in copies.values() if count > 1)
    findings.duplicated += len(events) - len(
        {(e.type_name, e.timestamp, json.dumps(e.data, sort_keys=True)) for e in events}
    )
    turn_of = {m.text: number for number, turn in enumerate(conversation.turns) for m in turn}
    turns_stored = [turn_of.get(text, -1) for text in stored_texts]
    findings.out_of_order = sum(
        1 for a, b in zip(turns_stored, turns_stored[1:], strict=False) if b < a
    )
    bounds = [*user_indexes, len(events)]
    replies_stored: dict[str, list[str | None]] = {}
    for start, end in zip(bounds, bounds[1:], strict=False):
        turn = events[start + 1 : end]
        if end < len(events) and not any(event.is_action_listen for event in turn):
            findings.interleaved_turns += 1
        text = events[start].data.get("text")
        replies_stored[text] = [e.data.get("text") for e in turn if e.type_name == "bot"]
    findings.replies_not_as_stored = sum(
        1
        for message in conversation.messages()
        if message.answered and replies_stored.get(message.text) != message.replies
    )
    return findings


# --- The load -------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    # When the answered messages reach this share of all messages.
    at_fraction: float
    act: Callable[[], str]
    started: float | None = None
    outcome: str = ""
    seconds: float = 0.0


@dataclass
class Served:
    at: float
    server: str


class LoadRun:
    """Conversations held through the balancer, each turn after the last was answered, with
    faults injected as the answered messages pass their marks."""

    def __init__(
        self,
        rasa_url: str,
        database_url: str,
        conversations: list[Conversation],
        faults: list[Fault] | None = None,
    ) -> None:
        self.url = f"{rasa_url}/webhooks/signed_rest/webhook"
        self.database_url = database_url
        self.conversations = conversations
        self.faults = faults or []
        self.answered = 0
        self.served: list[Served] = []
        self.seconds = 0.0

    def run(self) -> LoadRun:
        started = time.monotonic()
        asyncio.run(self._run())
        self.seconds = time.monotonic() - started
        return self

    def _count_answer(self) -> None:
        self.answered += 1
        self._progress.set()

    async def _run(self) -> None:
        self._progress = asyncio.Event()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            faults = asyncio.create_task(self._inject_faults())
            await asyncio.gather(*(self._converse(session, c) for c in self.conversations))
            await faults

    async def _inject_faults(self) -> None:
        total = len(self.conversations) * MESSAGES_PER_CONVERSATION
        for fault in self.faults:
            while self.answered < fault.at_fraction * total:
                self._progress.clear()
                await self._progress.wait()
            fault.started = time.monotonic()
            fault.outcome = await asyncio.to_thread(fault.act)
            fault.seconds = time.monotonic() - fault.started

    async def _converse(self, session: aiohttp.ClientSession, conversation: Conversation) -> None:
        for texts in TURNS:
            turn = [Message(text) for text in texts]
            conversation.turns.append(turn)
            await asyncio.gather(*(self._say(session, conversation, m) for m in turn))

    async def _say(
        self, session: aiohttp.ClientSession, conversation: Conversation, message: Message
    ) -> None:
        headers = {"Authorization": f"Bearer {conversation.token}"}
        body = {"sender": conversation.sender_id, "message": message.text}
        while message.attempts < MAX_ATTEMPTS:
            message.attempts += 1
            try:
                async with session.post(self.url, json=body, headers=headers) as response:
                    message.status = response.status
                    message.served_by = response.headers.get(SERVED_BY_HEADER)
                    if response.status == 200:
                        message.replies = [reply.get("text") for reply in await response.json()]
                        if message.answered:
                            self._count_answer()
                            self.served.append(Served(time.monotonic(), message.served_by or "?"))
                            return
                        message.empty_answers += 1
            except (aiohttp.ClientError, asyncio.TimeoutError):
                message.status = None
            # No answer: the customer sends it again after a moment, unless it was taken.
            await asyncio.sleep(RESEND_AFTER_SECONDS)
            stored = await asyncio.to_thread(
                stored_user_texts, self.database_url, conversation.sender_id
            )
            if message.text in stored:
                message.answer_lost = True
                self._count_answer()
                return

    def findings(self) -> Findings:
        total = Findings()
        for conversation in self.conversations:
            events = stored_events(self.database_url, conversation.sender_id)
            total.add(check_conversation(conversation, events))
        return total

    def messages(self) -> list[Message]:
        return [m for c in self.conversations for m in c.messages()]

    def served_between(self, start: float, end: float = float("inf")) -> Counter[str]:
        return Counter(s.server for s in self.served if start <= s.at < end)


# --- Faults ---------------------------------------------------------------------------------


def wait_for_log_line(
    server: Server, text: str, after_offset: int, timeout_seconds: float = 30
) -> float | None:
    """Seconds until ``text`` shows in the server's log past ``after_offset`` (bytes), or None
    if it does not within the timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        with server.log_path.open("rb") as log:
            log.seek(after_offset)
            if text.encode() in log.read():
                return time.monotonic() - started
        time.sleep(0.1)
    return None


def log_size(server: Server) -> int:
    return server.log_path.stat().st_size if server.log_path.exists() else 0


def kill_rasa_server(profile: ScaleOut, number: int = 0) -> Callable[[], str]:
    def act() -> str:
        server = profile.rasa_servers[number]
        assert server.process is not None
        balancer_log = log_size(profile.balancer)
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        taken_out = wait_for_log_line(
            profile.balancer, f"rasa_servers/{server.name} is DOWN", balancer_log
        )
        if taken_out is None:
            return f"{server.name} killed; the balancer did not take it out within 30 s"
        return f"{server.name} killed (SIGKILL); the balancer took it out {taken_out:.1f} s later"

    return act


def restart_action_server(profile: ScaleOut, number: int = 0) -> Callable[[], str]:
    """Stopped unannounced (SIGTERM to its processes), then started again."""

    def act() -> str:
        server = profile.action_servers[number]
        started = time.monotonic()
        server.stop()
        server.start()
        server.wait_until_ready()
        seconds = time.monotonic() - started
        return f"{server.name} stopped unannounced (SIGTERM) and back in {seconds:.1f} s"

    return act


def restart_action_server_drained(profile: ScaleOut, number: int = 1) -> Callable[[], str]:
    """A planned restart: out of the balancer first (tooling/scale_out.py restart_drained)."""

    def act() -> str:
        server = profile.action_servers[number]
        seconds = restart_drained(profile, "action_servers", server)
        return (
            f"{server.name} taken out of the balancer, its calls finished, restarted and back "
            f"in {seconds:.1f} s"
        )

    return act


def calls_failed_at_the_balancer(profile: ScaleOut, backend: str) -> Counter[str]:
    """Requests the balancer answered with a 5xx, per server of ``backend`` (its access log)."""
    failed = re.compile(rf" {backend}/(\S+) \S+ (5\d\d) ")
    text = profile.balancer.log_path.read_text(errors="replace")
    return Counter(match.group(1) for match in failed.finditer(text))


class PrivateRedis:
    """A redis-server of the run's own (Debian's binary, no persistence) that may be restarted
    without touching this machine's shared Redis."""

    def __init__(self, work_dir: Path) -> None:
        self.port = free_port()
        self.work_dir = work_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with (self.work_dir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.work_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"the private redis-server on {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> str:
        started = time.monotonic()
        self.stop()
        self.start()
        seconds = time.monotonic() - started
        return f"redis-server restarted (its locks and rate counts lost) in {seconds:.1f} s"


class PrivatePostgres:
    """A PostgreSQL server of the run's own (Debian's binaries; as the postgres user when run
    as root, since initdb refuses root) that may be restarted without touching this machine's
    shared one. Its data directory is made afresh for each run."""

    def __init__(self, work_dir: Path) -> None:
        self.port = free_port()
        self.home = work_dir / "postgres"
        self.data_dir = self.home / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *command: str) -> None:
        binary = str(postgres_binaries() / command[0])
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_owner, binary, *command[1:]], check=True, capture_output=True)

    def create(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home}"
        log = str(self.home / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def restart(self) -> str:
        started = time.monotonic()
        self.stop()
        self.start()
        seconds = time.monotonic() - started
        return (
            f"PostgreSQL (the tracker store's) restarted, its connections cut, in {seconds:.1f} s"
        )

    def new_database(self, name: str) -> str:
        connection = psycopg2.connect(f"{self.url}/postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return f"{self.url}/{name}"


def postgres_binaries() -> Path:
    """Debian's PostgreSQL programs (initdb, pg_ctl), newest version first."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if not found:
        raise SystemExit(
            "PostgreSQL's server programs are not installed (apt-get install postgresql)"
        )
    return found[0]


# --- The profile, on stores of the run's own -------------------------------------------------


def distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def private_overrides(
    prefix: str, redis_url: str | None = None, tracker_store_url: str | None = None
) -> dict[str, str]:
    """The scale-out profile's environment with ports, databases, a virtual host, lock keys
    and secrets of the run's own (each run's stores are recreated empty, so events count)."""
    rasa, actions, rasa_1, rasa_2, actions_1, actions_2, sandbox, desk, analytics = (
        distinct_free_ports(9)
    )
    overrides = {
        "RASA_PORT": str(rasa),
        "ACTION_SERVER_PORT": str(actions),
        "SCALE_OUT_RASA_PORTS": f"{rasa_1},{rasa_2}",
        "SCALE_OUT_ACTION_PORTS": f"{actions_1},{actions_2}",
        "SANDBOX_PORT": str(sandbox),
        "BACKEND_URL": f"http://127.0.0.1:{sandbox}",
        "DESK_PORT": str(desk),
        "DESK_URL": f"http://127.0.0.1:{desk}",
        "ANALYTICS_PORT": str(analytics),
        "ANALYTICS_URL": f"http://127.0.0.1:{analytics}",
        "ANALYTICS_DATABASE_URL": fresh_postgres_database(f"{prefix}_analytics"),
        "TRACKER_STORE_URL": tracker_store_url or fresh_postgres_database(f"{prefix}_tracker"),
        "SANDBOX_DATABASE_URL": fresh_postgres_database(f"{prefix}_sandbox").replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
        "DESK_DATABASE_URL": fresh_postgres_database(f"{prefix}_desk").replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
        "EVENT_BROKER_URL": fresh_rabbitmq_vhost(prefix),
        # Rasa ignores a prefix that is not alphanumeric (and uses "lock:", shared by all).
        "LOCK_STORE_KEY_PREFIX": prefix.replace("_", ""),
        "SANDBOX_CUSTOMERS": str(SANDBOX_CUSTOMERS),
        "CHANNEL_ADDRESS_MESSAGES_PER_MINUTE": str(ADDRESS_MESSAGES_PER_MINUTE),
        "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_SECONDS),
        **{name: secrets.token_urlsafe(24) for name in secret_names()},
    }
    if redis_url is not None:
        host_and_port = redis_url.removeprefix("redis://")
        host, _, port = host_and_port.partition(":")
        overrides.update(
            LOCK_STORE_URL=host,
            LOCK_STORE_PORT=port,
            RATE_LIMIT_REDIS_URL=f"{redis_url}/2",
        )
    return overrides


def warm_up(profile: ScaleOut) -> None:
    """One message to each Rasa server directly: a server's first answer loads parts of the
    model, which is start-up, not what a fault costs."""
    import urllib.request

    for server in profile.rasa_servers:
        request = urllib.request.Request(
            server.ready_url.rstrip("/") + "/webhooks/rest/webhook",
            json.dumps({"sender": f"warm-up-{server.name}", "message": "hello"}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS):
            pass


@contextmanager
def running_scale_out(
    model: Path,
    work_dir: Path,
    prefix: str,
    redis_url: str | None = None,
    tracker_store_url: str | None = None,
) -> Iterator[tuple[ScaleOut, dict[str, str]]]:
    """The profile on stores of its own, started, warmed up, and stopped whatever happens."""
    overrides = private_overrides(prefix, redis_url, tracker_store_url)
    environment = scale_out_environment(work_dir, **overrides)
    profile = scale_out(environment, model, work_dir)
    try:
        profile.start()
        warm_up(profile)
        yield profile, environment
    finally:
        profile.stop()


def profile_settings(environment: dict[str, str]) -> ScaleOutSettings:
    return ScaleOutSettings.read(Environment(environment))


def published_events(
    vhost: str, expected: dict[str, int], wait_seconds: float = 10
) -> Counter[str]:
    """The events the Rasa servers published to the broker, per conversation, drained from its
    queue until they reach ``expected`` or ``wait_seconds`` pass: Rasa's RabbitMQ client
    publishes in the background, after the tracker store has the events."""
    published: Counter[str] = Counter()
    deadline = time.monotonic() + wait_seconds
    while True:
        published.update(
            json.loads(body).get("sender_id") for body in drained_messages(vhost, EVENTS_QUEUE)
        )
        reached = all(published[sender] >= count for sender, count in expected.items())
        if reached or time.monotonic() > deadline:
            return published
        time.sleep(0.5)


def events_stored_in_turns_answered_by(
    server: str, database_url: str, conversations: list[Conversation]
) -> int:
    """The events of the turns ``server`` answered: from each user message it answered to the
    next user message (a conversation's opening events count with its first message)."""
    total = 0
    for conversation in conversations:
        events = stored_events(database_url, conversation.sender_id)
        answered_by = {m.text: m.served_by for m in conversation.messages() if m.answered}
        starts = [i for i, event in enumerate(events) if event.type_name == "user"]
        bounds = [0, *starts[1:], len(events)]
        for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
            if answered_by.get(events[starts[number]].data.get("text")) == server:
                total += end - start
    return total


def stored_event_counts(database_url: str, conversations: list[Conversation]) -> dict[str, int]:
    return {c.sender_id: len(stored_events(database_url, c.sender_id)) for c in conversations}


# --- The benchmark --------------------------------------------------------------------------


FULL = {"conversations": 50, "store_restarts": True}
# Every fault, on fewer conversations: the test suite's run of each of them.
SMOKE = {"conversations": 10, "store_restarts": True}


def run_benchmark(conversations: int, store_restarts: bool, work_dir: Path) -> dict[str, Any]:
    prefix = "fincs_scale_bench"
    shutil.rmtree(work_dir / "logs", ignore_errors=True)
    redis_server = PrivateRedis(work_dir / "redis")
    redis_server.start()
    postgres = PrivatePostgres(work_dir)
    tracker_store_url = None
    if store_restarts:
        postgres.create()
        tracker_store_url = postgres.new_database(f"{prefix}_tracker")
    try:
        with running_scale_out(
            ensure_model(), work_dir, prefix, redis_server.url, tracker_store_url
        ) as (profile, environment):
            customers = pick_customers(
                environment["BACKEND_URL"], environment["SANDBOX_SERVICE_SECRET"], conversations
            )
            faults = [
                Fault("one Rasa server killed", 0.3, kill_rasa_server(profile)),
                Fault("an action server stopped", 0.45, restart_action_server(profile)),
                Fault("an action server drained", 0.55, restart_action_server_drained(profile)),
            ]
            if store_restarts:
                faults.append(Fault("Redis restarted", 0.7, redis_server.restart))
                faults.append(Fault("PostgreSQL restarted", 0.85, postgres.restart))
            started = time.monotonic()
            run = LoadRun(
                environment["RASA_URL"],
                environment["TRACKER_STORE_URL"],
                conversations_for(customers, environment["CHANNEL_SIGNING_SECRET"]),
                faults,
            ).run()
            findings = run.findings()
            stored = stored_event_counts(environment["TRACKER_STORE_URL"], run.conversations)
            published = published_events(prefix, stored)
            figures = summary(run, findings, published, stored, started)
            figures["events_of_killed_server"] = events_stored_in_turns_answered_by(
                profile.rasa_servers[0].name, environment["TRACKER_STORE_URL"], run.conversations
            )
            figures["action_workers"] = profile_settings(environment).action_server_workers
            figures["action_calls_failed"] = dict(
                calls_failed_at_the_balancer(profile, "action_servers")
            )
            return figures
    finally:
        redis_server.stop()
        postgres.stop()


def summary(
    run: LoadRun,
    findings: Findings,
    published: Counter[str],
    stored: dict[str, int],
    started: float,
) -> dict[str, Any]:
    messages = run.messages()
    kill = next((f for f in run.faults if "killed" in f.name), None)
    return {
        "conversations": len(run.conversations),
        "messages": len(messages),
        "seconds": run.seconds,
        "answered_first_time": sum(1 for m in messages if m.answered and m.attempts == 1),
        "answered_after_resending": sum(1 for m in messages if m.answered and m.attempts > 1),
        "taken_but_answer_lost": sum(1 for m in messages if m.answer_lost),
        "never_answered": sum(1 for m in messages if not (m.answered or m.answer_lost)),
        "resends": sum(m.attempts - 1 for m in messages),
        "empty_answers": sum(m.empty_answers for m in messages),
        "findings": vars(findings),
        "events_stored": sum(stored.values()),
        "events_published": sum(published[sender] for sender in stored),
        "served_before_kill": dict(
            run.served_between(started, kill.started if kill and kill.started else float("inf"))
        ),
        "served_after_kill": dict(run.served_between(kill.started))
        if kill and kill.started
        else {},
        "faults": [{"name": f.name, "at": f.at_fraction, "outcome": f.outcome} for f in run.faults],
    }


def report(figures: dict[str, Any]) -> str:
    findings = figures["findings"]
    rows = [
        ("conversations (signed-in, over REST through HAProxy)", figures["conversations"]),
        ("messages sent (each once by the script)", figures["messages"]),
        ("answered at the first try", figures["answered_first_time"]),
        ("answered after the customer sent it again", figures["answered_after_resending"]),
        (
            "taken by a server that died before answering (in the store, no reply)",
            figures["taken_but_answer_lost"],
        ),
        ("never answered", figures["never_answered"]),
        ("answers of HTTP 200 with no reply, the message not handled", figures["empty_answers"]),
        ("messages sent again by customers", figures["resends"]),
        ("user messages in PostgreSQL", findings["messages_stored"]),
        ("lost (taken, not stored)", findings["lost"]),
        ("duplicated (stored twice)", findings["duplicated"]),
        ("out of order (a turn stored before an earlier one)", findings["out_of_order"]),
        ("turns begun before the one before ended", findings["interleaved_turns"]),
        ("answers not as stored", findings["replies_not_as_stored"]),
        ("events in PostgreSQL", figures["events_stored"]),
        ("events published to RabbitMQ", figures["events_published"]),
        (
            "events of the turns the killed server answered (stored)",
            figures["events_of_killed_server"],
        ),
        (
            "action calls the balancer answered with a 5xx, per action server",
            _shares(figures["action_calls_failed"]),
        ),
        ("answered by each Rasa server before the kill", _shares(figures["served_before_kill"])),
        ("answered by each Rasa server after the kill", _shares(figures["served_after_kill"])),
        ("wall time of the load (s)", f"{figures['seconds']:.0f}"),
    ]
    table = "| | count |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)
    faults = "\n".join(
        f"{number}. at {fault['at']:.0%} of the messages answered: {fault['outcome']}"
        for number, fault in enumerate(figures["faults"], 1)
    )
    script = " / ".join(" + ".join(turn) for turn in TURNS)
    return f"""
Two Rasa servers (one Sanic worker each) and two action servers
({figures["action_workers"]} Sanic workers each) behind HAProxy; PostgreSQL tracker store, Redis
lock store (TICKET_LOCK_LIFETIME={LOCK_LIFETIME_SECONDS} s), RabbitMQ event broker; each
conversation: {script}
(the two messages of one turn sent at once).

Faults, in order:

{faults}

{table}

A message in flight on the killed server gets HTTP 502 from the balancer: the customer sends it
again (here after {RESEND_AFTER_SECONDS:.0f} s) and it is answered by the other server once the
dead server's ticket of that conversation's lock expires (TICKET_LOCK_LIFETIME). Events
published to RabbitMQ may fall short of those stored by what the killed server had not yet
published.
"""


def _shares(served: dict[str, int]) -> str:
    return ", ".join(f"{server}: {count}" for server, count in sorted(served.items())) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="10 conversations, every fault")
    parser.add_argument("--conversations", type=int)
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()
    size = SMOKE if arguments.smoke else FULL
    made = provenance_fields()
    figures = run_benchmark(
        arguments.conversations or size["conversations"], size["store_restarts"], WORK_DIR
    )
    out = arguments.out or (WORK_DIR / "scale_out-smoke.md" if arguments.smoke else None)
    path = write_results(
        "scale_out", "Faults under load on the scale-out profile", report(figures), out, made
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
