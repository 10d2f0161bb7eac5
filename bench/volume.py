"""What one message costs the tracker store with 10 and with 100,000 stored conversations.

Fills two tracker store databases of the project's store (common/tracker_store.py, as the Rasa
server configures it) with stored conversations, 10 in one and --conversations in the other,
written in bulk in Rasa's events table format: the rows SQLTrackerStore.save writes, events
shaped like the assistant's own (sessions opened by action_session_start with the customer's
name carried over, turns with the NLU's intent ranking, operations resetting their slots, the
bot's answer with its template metadata). Each conversation has one or two sessions of 2-6 turns,
its last message at a time spread over the last year.

Then, alternating between the two databases so the machine's load falls on both alike, it
takes what the Rasa server does for one message of a stored conversation picked at random:
the store's retrieve, then save of the tracker with one more turn; the rows a sample adds are
deleted afterwards (untimed), so every sample meets the same store. Median and p95 of retrieve,
save and both, at both sizes, on SQLite (WAL, as the embedded profile) and PostgreSQL (the
production profile's server, in databases of this benchmark's own, dropped at the end), go to
bench/results/volume.md (--smoke: 2,000 conversations on SQLite, or --out).

With --round-trips N (150 by default, none in --smoke), N messages also go through a real Rasa
server at each size on SQLite: the trained model (never trained here), one server per store.

    .venv/bin/python -m bench.volume [--smoke] [--conversations N]
        [--database sqlite|postgresql ...] [--samples N] [--round-trips N] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import statistics
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.report import RESULTS_DIR, provenance_fields, write_results
from common.environment import PROJECT_ROOT, process_environment, read_profile
from common.ports import free_port
from common.store_checks import POSTGRES_MAINTENANCE_DATABASE, ensure_sql_database
from common.tracker_store import StrictSQLTrackerStore
from registry.rasa_domain import ProductLineImporter
from tooling.model_cache import model_fingerprint, model_path
from tooling.processes import Server, action_server, rasa_server, stop_all

SMALL_SIZE = 10
FULL = {
    "conversations": 100_000,
    "databases": ["sqlite", "postgresql"],
    "samples": 300,
    "round_trips": 150,
}
SMOKE = {"conversations": 2_000, "databases": ["sqlite"], "samples": 80, "round_trips": 0}
# The round trip through a real Rasa server: anonymous REST conversations of rule-answered
# messages (no back end), the same few at both sizes, so only the stored volume differs.
ROUND_TRIP_MESSAGES = ("hello", "are you a bot?", "what can you do?")
ROUND_TRIP_CONVERSATIONS = 10
WARM_UP_SAMPLES = 10
# Conversations written per transaction while filling.
FILL_BATCH = 1_000
POSTGRES_DATABASE_PREFIX = "fincs_bench_volume"
SECONDS_PER_DAY = 86_400
HISTORY_DAYS = 365
EVENT_METADATA = {"model_id": "20e79b1024374b6baf104c569fff3b3d", "assistant_id": "fincs-assistant"}
# The slots an operation's end clears, as action_finish_operation does.
OPERATION_SLOTS = (
    "card",
    "failed_answers",
    "form_cancelled",
    "verification_id",
    "operation_quote",
    "operation_request",
    "operation_outcome",
    "confirmed",
    "verification_code",
)
OTHER_INTENTS = (
    "inform",
    "goodbye",
    "out_of_scope",
    "request_human",
    "customer_overview",
    "help",
    "affirm",
    "bot_challenge",
    "cancel",
)


@dataclass(frozen=True)
class Turn:
    text: str
    intent: str
    action: str
    template: str
    answer: str
    operation: bool = False


TURNS = (
    Turn(
        "hello",
        "greet",
        "utter_greet",
        "utter_greet",
        "Hi! I'm the customer service assistant. How can I help you today?",
    ),
    Turn(
        "what can you do?",
        "help",
        "action_explain_capabilities",
        "utter_capabilities",
        "Here is what I can help you with:\n- Bank accounts and debit cards: balances, "
        "statements, transfers, and your debit cards (lost, frozen, declined).\n- Credit cards: "
        "statements, limits, repayments.\n- Wallet payments: history, refunds, limits.",
    ),
    Turn(
        "what's my bank balance?",
        "bank_balance",
        "action_run_operation",
        "utter_bank_balance",
        "Your current account ending 4821 holds ¥12,480.55 (available ¥12,180.55).",
        operation=True,
    ),
    Turn(
        "why was my card declined?",
        "bank_card_declined",
        "action_run_operation",
        "utter_bank_no_declines",
        "I can't see any declined payments on your debit card ending 1600 in the last 30 days.",
        operation=True,
    ),
    Turn(
        "show my recent wallet payments",
        "payments_history",
        "action_run_operation",
        "utter_payments_history",
        "Your last payments: ¥58.00 to Metro Coffee on 28 Nov, ¥1,299.00 to Jingdong on 27 Nov, "
        "¥16.50 to City Bus on 27 Nov.",
        operation=True,
    ),
    Turn(
        "thanks, bye",
        "goodbye",
        "utter_goodbye",
        "utter_goodbye",
        "Goodbye, and thanks for chatting with us. Come back any time.",
    ),
)


def _stamped(event: Event) -> dict[str, Any]:
    event.metadata = {**EVENT_METADATA, **event.metadata}
    return event.as_dict()


@functools.cache
def session_start_events(customer_name: str) -> list[dict[str, Any]]:
    return [
        _stamped(ActionExecuted("action_session_start", confidence=1.0)),
        _stamped(SessionStarted()),
        _stamped(SlotSet("customer_name", customer_name)),
        _stamped(ActionExecuted("action_listen")),
    ]


@functools.cache
def turn_events(turn: Turn) -> list[dict[str, Any]]:
    ranking = [{"name": turn.intent, "confidence": 0.9912}] + [
        {"name": name, "confidence": round(0.008 / (rank + 2), 8)}
        for rank, name in enumerate(OTHER_INTENTS)
        if name != turn.intent
    ]
    parse_data = {
        "intent": ranking[0],
        "entities": [],
        "text": turn.text,
        "message_id": "",
        "metadata": {},
        "text_tokens": [[0, len(turn.text)]],
        "intent_ranking": ranking[:10],
    }
    bot_metadata = {"utter_action": turn.template, "template": turn.template}
    if turn.operation:
        bot_metadata.update(
            profile_customer_id="C00016",
            profile_preferred_language="zh",
            profile_segment="young",
            profile_home_currency="CNY",
        )
    events: list[Event] = [
        UserUttered(turn.text, ranking[0], [], parse_data, input_channel="rest"),
        DefinePrevUserUtteredFeaturization(False),
        ActionExecuted(turn.action, policy="RulePolicy", confidence=1.0),
        BotUttered(turn.answer, {"elements": None, "buttons": None}, bot_metadata),
    ]
    if turn.operation:
        events += [SlotSet(name, None) for name in OPERATION_SLOTS]
    events.append(ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0))
    return [_stamped(event) for event in events]


def retimed(templates: list[dict[str, Any]], start: float) -> Iterator[dict[str, Any]]:
    """The templates' events a few milliseconds apart from ``start``; a new message id each."""
    for offset, template in enumerate(templates):
        event = {**template, "timestamp": start + offset * 0.005}
        if event["event"] == "user":
            message_id = uuid.uuid4().hex
            event["message_id"] = message_id
            event["parse_data"] = {**event["parse_data"], "message_id": message_id}
        yield event


def conversation(rng: random.Random, now: float) -> list[dict[str, Any]]:
    """One stored conversation's events: one or two sessions, the last ending at a random time
    in the last year."""
    sessions = rng.choice((1, 1, 2))
    last_activity = now - rng.uniform(0, HISTORY_DAYS * SECONDS_PER_DAY)
    starts = sorted(
        last_activity - rng.uniform(1, 30) * SECONDS_PER_DAY * i for i in range(sessions)
    )
    name = rng.choice(("郭敏诺", "Li Wei", "王芳", "Zhang Min", "陈静"))
    events: list[dict[str, Any]] = []
    for start in starts:
        templates = [*session_start_events(name), *turn_events(TURNS[0])]
        for turn in rng.sample(TURNS[1:-1], rng.randint(0, len(TURNS) - 2)):
            templates += turn_events(turn)
        templates += turn_events(TURNS[-1])
        events += retimed(templates, start)
    return events


def event_row(sender_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The row SQLTrackerStore.save writes for the event ``data``."""
    return {
        "sender_id": sender_id,
        "type_name": data["event"],
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def fill(store: SQLTrackerStore, conversations: int, seed: int) -> int:
    """Writes the conversations; returns the number of events written."""
    rng = random.Random(seed)
    now = time.time()
    table = SQLTrackerStore.SQLEvent.__table__
    written = 0
    for batch_start in range(0, conversations, FILL_BATCH):
        rows = [
            event_row(sender_id(index), event)
            for index in range(batch_start, min(batch_start + FILL_BATCH, conversations))
            for event in conversation(rng, now)
        ]
        with store.engine.begin() as connection:
            connection.execute(table.insert(), rows)
        written += len(rows)
    return written


def sender_id(index: int) -> str:
    return f"customer:C{index:07d}"


# --- Measuring ---------------------------------------------------------------------------------


@dataclass
class StoreUnderTest:
    label: str
    url: str
    conversations: int
    events: int
    store: StrictSQLTrackerStore
    last_stored_id: int
    retrieve_ms: list[float]
    save_ms: list[float]

    @property
    def message_ms(self) -> list[float]:
        return [read + write for read, write in zip(self.retrieve_ms, self.save_ms, strict=True)]


async def one_message(subject: StoreUnderTest, rng: random.Random, record: bool) -> None:
    """The store's part of one message: retrieve the conversation, save it one turn longer."""
    conversation_id = sender_id(rng.randrange(subject.conversations))
    new_events = [
        Event.from_parameters(data) for data in retimed(turn_events(rng.choice(TURNS)), time.time())
    ]
    started = time.perf_counter()
    tracker = await subject.store.retrieve(conversation_id)
    retrieved = time.perf_counter()
    assert tracker is not None, f"{conversation_id} was not stored"
    for event in new_events:
        tracker.update(event)
    saving = time.perf_counter()
    await subject.store.save(tracker)
    saved = time.perf_counter()
    with subject.store.engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM events WHERE id > :last"), {"last": subject.last_stored_id}
        )
    if record:
        subject.retrieve_ms.append((retrieved - started) * 1000)
        subject.save_ms.append((saved - saving) * 1000)


async def measure(subjects: list[StoreUnderTest], samples: int, seed: int) -> None:
    rng = random.Random(seed)
    for index in range(WARM_UP_SAMPLES + samples):
        # Alternating which goes first, so neither always follows the other's writes.
        ordered = subjects if index % 2 == 0 else subjects[::-1]
        for subject in ordered:
            await one_message(subject, rng, record=index >= WARM_UP_SAMPLES)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- The databases ------------------------------------------------------------------------------


def postgres_url(database: str) -> str:
    """The production profile's PostgreSQL server, with this benchmark's own database."""
    server = make_url(read_profile("production")["TRACKER_STORE_URL"])
    return server.set(database=database).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    maintenance = sa.create_engine(
        parsed.set(database=POSTGRES_MAINTENANCE_DATABASE),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    try:
        with maintenance.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(parsed.database)
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        maintenance.dispose()


def database_urls(backend: str, scratch: Path, large: int) -> tuple[str, str]:
    if backend == "sqlite":
        return (f"sqlite:///{scratch / 'small.db'}", f"sqlite:///{scratch / 'large.db'}")
    return (
        postgres_url(f"{POSTGRES_DATABASE_PREFIX}_{SMALL_SIZE}"),
        postgres_url(f"{POSTGRES_DATABASE_PREFIX}_{large}"),
    )


def prepared_store(url: str, domain: Domain, conversations: int, seed: int) -> StoreUnderTest:
    ensure_sql_database("benchmark tracker store", url)
    store = StrictSQLTrackerStore(domain=domain, host=url)
    started = time.perf_counter()
    events = fill(store, conversations, seed)
    with store.engine.begin() as connection:
        if store.engine.dialect.name == "postgresql":
            # What autovacuum does after a bulk load, so the planner knows the table's size.
            connection.execute(sa.text("ANALYZE events"))
        last_stored_id = connection.execute(sa.text("SELECT max(id) FROM events")).scalar_one()
    print(
        f"  {conversations:,} conversations ({events:,} events) in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return StoreUnderTest(
        label=f"{conversations:,}",
        url=url,
        conversations=conversations,
        events=events,
        store=store,
        last_stored_id=last_stored_id,
        retrieve_ms=[],
        save_ms=[],
    )


def run_backend(
    backend: str, domain: Domain, conversations: int, samples: int, messages: int
) -> tuple[list[StoreUnderTest], dict[str, list[float]]]:
    print(f"{backend}: filling ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-volume-") as scratch:
        small_url, large_url = database_urls(backend, Path(scratch), conversations)
        if backend == "postgresql":
            for url in (small_url, large_url):
                drop_postgres_database(url)
        subjects: list[StoreUnderTest] = []
        trips: dict[str, list[float]] = {}
        try:
            subjects = [
                prepared_store(small_url, domain, SMALL_SIZE, seed=1),
                prepared_store(large_url, domain, conversations, seed=2),
            ]
            print(f"{backend}: measuring {samples} messages at each size ...", flush=True)
            asyncio.run(measure(subjects, samples, seed=3))
            for subject in subjects:
                subject.store.engine.dispose()
            if messages:
                print(f"{backend}: {messages} messages through a Rasa server at each size ...")
                trips = round_trips(subjects, messages, Path(scratch))
        finally:
            for subject in subjects:
                subject.store.engine.dispose()
            if backend == "postgresql":
                for url in (small_url, large_url):
                    drop_postgres_database(url)
    return subjects, trips


# --- A message through a real Rasa server ---------------------------------------------------


def trained_model() -> Path:
    """The model of the current project files; a benchmark never trains one (that takes a
    quarter of an hour of both cores)."""
    model = model_path(model_fingerprint())
    if not model.exists():
        raise SystemExit(
            f"No trained model for the current files ({model.name}): run "
            "`.venv/bin/python -m tooling.model_cache` first, or --round-trips 0."
        )
    return model


def say(port: int, sender: str, message: str) -> float:
    """Sends one message over the anonymous REST channel; returns the round trip in ms."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        json.dumps({"sender": sender, "message": message}).encode(),
        {"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.load(response)
    elapsed = (time.perf_counter() - started) * 1000
    if not replies:
        raise RuntimeError(f"no answer to {message!r}: is the model loaded?")
    return elapsed


def round_trips(
    subjects: list[StoreUnderTest], messages: int, scratch: Path
) -> dict[str, list[float]]:
    """One Rasa server per store (the trained model, embedded profile, the store as its
    TRACKER_STORE_URL) beside one action server; messages alternate between the two."""
    base = process_environment(
        "embedded",
        # One sender at machine speed; a person does not type this fast.
        CHANNEL_SENDER_MESSAGES_PER_MINUTE="1000000",
        CHANNEL_ADDRESS_MESSAGES_PER_MINUTE="1000000",
    )
    model = trained_model()
    action_port = free_port()
    base["ACTION_SERVER_URL"] = f"http://127.0.0.1:{action_port}/webhook"
    servers: list[Server] = [action_server(action_port, base)]
    ports: dict[str, int] = {}
    for number, subject in enumerate(subjects):
        ports[subject.label] = free_port()
        environment = {
            **base,
            "TRACKER_STORE_URL": subject.url,
            "EVENT_BROKER_URL": f"sqlite:///{scratch / f'events-{number}.db'}",
        }
        server = rasa_server(model, ports[subject.label], environment)
        server.name = f"rasa-{number}"
        servers.append(server)
    for server in servers:
        server.log_dir = scratch / "logs"
    latencies: dict[str, list[float]] = {label: [] for label in ports}
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_ready(timeout_seconds=600)
        senders = [f"bench-volume-{index}" for index in range(ROUND_TRIP_CONVERSATIONS)]
        for port in ports.values():
            for sender in senders:  # each conversation's session opens before timing
                say(port, sender, ROUND_TRIP_MESSAGES[0])
        for index in range(messages):
            labels = list(ports) if index % 2 == 0 else list(ports)[::-1]
            sender = senders[index % len(senders)]
            message = ROUND_TRIP_MESSAGES[index % len(ROUND_TRIP_MESSAGES)]
            for label in labels:
                latencies[label].append(say(ports[label], sender, message))
    finally:
        stop_all(servers)
    return latencies


# --- The report ---------------------------------------------------------------------------------


def figures_table(results: dict[str, list[StoreUnderTest]]) -> str:
    lines = [
        "| database | stored conversations | stored events | retrieve p50 / p95 (ms) "
        "| save p50 / p95 (ms) | message p50 (ms) | message p95 (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, subjects in results.items():
        for subject in subjects:
            lines.append(
                f"| {backend} | {subject.label} | {subject.events:,} "
                f"| {statistics.median(subject.retrieve_ms):.2f} / "
                f"{percentile(subject.retrieve_ms, 0.95):.2f} "
                f"| {statistics.median(subject.save_ms):.2f} / "
                f"{percentile(subject.save_ms, 0.95):.2f} "
                f"| {statistics.median(subject.message_ms):.2f} "
                f"| {percentile(subject.message_ms, 0.95):.2f} |"
            )
    return "\n".join(lines)


def ratio_table(results: dict[str, list[StoreUnderTest]]) -> str:
    lines = [
        "| database | message p50, large / small | message p95, large / small |",
        "|---|---|---|",
    ]
    for backend, (small, large) in results.items():
        p50 = statistics.median(large.message_ms) / statistics.median(small.message_ms)
        p95 = percentile(large.message_ms, 0.95) / percentile(small.message_ms, 0.95)
        lines.append(f"| {backend} | {p50:.2f} | {p95:.2f} |")
    return "\n".join(lines)


def report_body(results: dict[str, list[StoreUnderTest]], samples: int) -> str:
    return f"""
What the tracker store costs one message (the Rasa server's retrieve of the conversation, then
save with one more turn), with {SMALL_SIZE} stored conversations and with many, in the project's
store (common/tracker_store.py): SQLite in WAL mode as in the embedded profile, PostgreSQL as in
the production profile (index on sender_id, type_name, timestamp; statistics as autovacuum
leaves them after a bulk load). Stored conversations: one or two sessions of 2-6 turns shaped
like the assistant's, the last message spread over the last year. {samples} messages at each
size, to a stored conversation picked at random, the two sizes alternating; each message's rows
are removed after it (untimed), so every sample meets the same store.

{figures_table(results)}

{ratio_table(results)}

Retrieve reads only the conversation's latest session (Rasa's query: the latest
session_started of the sender, then its events by id), and save first counts those events; both
go through the indexes on the sender, so their cost follows the length of the conversation's
session, not the number of conversations stored.
"""


def round_trip_table(trips: dict[str, dict[str, list[float]]]) -> str:
    lines = [
        "| tracker store | stored conversations | messages | p50 (ms) | p95 (ms) |",
        "|---|---|---|---|---|",
    ]
    for backend, by_size in trips.items():
        for label, latencies in by_size.items():
            lines.append(
                f"| {backend} | {label} | {len(latencies)} | {statistics.median(latencies):.0f} "
                f"| {percentile(latencies, 0.95):.0f} |"
            )
    return "\n".join(lines)


def round_trip_section(trips: dict[str, dict[str, list[float]]], messages: int) -> str:
    if not trips:
        return ""
    return f"""
## A message through a real Rasa server

The trained model on the embedded profile, one Rasa server per store (the same databases as
above) beside one action server; {messages} messages at each size over the anonymous REST
channel ({", ".join(ROUND_TRIP_MESSAGES)}: answered by rules and the action server, no back
end) in {ROUND_TRIP_CONVERSATIONS} conversations opened before timing, the two servers
alternating. Round trip on loopback, NLU and policies included:

{round_trip_table(trips)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 conversations, SQLite only")
    parser.add_argument("--conversations", type=int, help="stored conversations, large size")
    parser.add_argument(
        "--database", action="append", choices=("sqlite", "postgresql"), help="repeatable"
    )
    parser.add_argument("--samples", type=int, help="messages measured at each size")
    parser.add_argument(
        "--round-trips",
        type=int,
        help="messages through a real Rasa server at each size, SQLite only (0: none)",
    )
    parser.add_argument("--out", type=Path, help="results file (default bench/results/volume.md)")
    arguments = parser.parse_args()
    size = SMOKE if arguments.smoke else FULL
    conversations = arguments.conversations or int(size["conversations"])
    databases = arguments.database or list(size["databases"])
    samples = arguments.samples or int(size["samples"])
    messages = size["round_trips"] if arguments.round_trips is None else arguments.round_trips
    made = provenance_fields()
    if messages and "sqlite" in databases:
        trained_model()  # before filling: it stops the run at once when missing

    domain = ProductLineImporter(
        config_file=str(PROJECT_ROOT / "config.yml"),
        domain_path=str(PROJECT_ROOT / "domain.yml"),
        training_data_paths=[str(PROJECT_ROOT / "data")],
    ).get_domain()
    results: dict[str, list[StoreUnderTest]] = {}
    trips: dict[str, dict[str, list[float]]] = {}
    for backend in databases:
        # The round trip runs on the embedded profile's store, SQLite.
        results[backend], found = run_backend(
            backend, domain, conversations, samples, messages if backend == "sqlite" else 0
        )
        if found:
            trips[backend] = found

    out = arguments.out or (RESULTS_DIR / "volume-smoke.md" if arguments.smoke else None)
    path = write_results(
        "volume",
        "Tracker store cost of one message by stored conversations",
        report_body(results, samples) + round_trip_section(trips, messages),
        out,
        made,
    )
    print(figures_table(results))
    print(ratio_table(results))
    if trips:
        print(round_trip_table(trips))
    print(f"Written to {path}")


if __name__ == "__main__":
    main()
