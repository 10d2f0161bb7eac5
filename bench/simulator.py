"""Synthetic customers talk to the running assistant; what they got, and the service's KPIs.

Starts the assistant as it runs (sandbox back end, action server, Rasa server with the current
model, agent desk; embedded profile, free loopback ports, files in .cache/bench/simulator),
then has N synthetic customers of the sandbox, a few at a time, each with a goal drawn from the
product lines as real demand weighs them (bench/simulator_goals.py), talk to it over the signed
REST channel as signed-in customers, in words that are not the training examples
(bench/simulator_words.py), reacting as a person would (bench/simulator_customer.py): buttons,
the form's questions, the code on their phone, changes of mind, questions on the way, asking
for a person, ratings. Each customer judges at the end from the back end and the answers
whether their goal was met. The run's Rasa events then go through the analytics pipeline
(analytics/), whose KPIs are written beside the seed's figures and the customers' own success
rate to bench/results/kpis.md.

The seed fixes each conversation's goal, habits and words (conversation i draws from its own
generator); which sandbox customer takes a goal depends also on which customers are in another
chat at that moment, so runs with the same seed are alike rather than identical.

    .venv/bin/python -m bench.simulator [--conversations 1000] [--concurrency 4] [--seed 19]
        [--customers 1000] [--minutes M] [--model PATH] [--out PATH]
    .venv/bin/python -m bench.simulator --running --conversations 100
        (talks to the assistant scripts/run serves, so the supervisors' page shows the run)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.latency import server_errors
from bench.project_environment import project_environment
from bench.report import RESULTS_DIR, provenance_fields, write_results
from bench.simulator_customer import Conversation, Habits, Outcome
from bench.simulator_goals import GOALS, Goal, Snapshot, Transcript, draw_goal, line_weights
from bench.simulator_words import Voice
from common.customer_binding import bound_sender_id, issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET, PROJECT_ROOT, process_environment
from common.ports import free_port
from tooling.model_cache import ensure_model
from tooling.processes import (
    Server,
    action_server,
    desk_server,
    rasa_server,
    sandbox_server,
    stop_all,
)

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "simulator"
DEFAULT_CONVERSATIONS = 1000
DEFAULT_CONCURRENCY = 4
DEFAULT_SEED = 19
DEFAULT_CUSTOMERS = 1000
# Customers tried for a goal before another goal is drawn (few customers are locked, say).
CANDIDATES_PER_GOAL = 150
MESSAGE_TIMEOUT_SECONDS = 120
# Customers whose goal was not met who try again later in the run (first-contact resolution
# counts them).
COMEBACK_SHARE = 0.5
# Silence after which analytics counts a session as over (the contract's 30 minutes).
SESSION_IDLE_SECONDS = 30 * 60
# The figures of the service this project models, from the issue.
SEED_FIGURES = {
    "self-service (containment) rate": 0.97,
    "first-contact resolution": 0.907,
    "satisfaction (CSAT)": 0.879,
}


def _call(
    url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data, {"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


@dataclass
class Stack:
    """The running assistant: where to talk to it and where its back end is."""

    rasa_url: str
    backend_url: str
    backend_secret: str
    sandbox_database: Path
    events_database: Path
    servers: list[Server]
    signing_secret: str = DEV_SIGNING_SECRET


@contextmanager
def running_stack(work: Path, customers: int, model: Path) -> Iterator[Stack]:
    """The project's servers as the benchmarks start them, plus the agent desk, so that a
    customer asking for a person is queued or promised a callback as in production."""
    rasa_port, action_port, sandbox_port, desk_port = (free_port() for _ in range(4))
    environment = project_environment(
        work,
        action_port,
        sandbox_port,
        customers,
        RASA_URL=f"http://127.0.0.1:{rasa_port}",
        DESK_URL=f"http://127.0.0.1:{desk_port}",
        DESK_DATABASE_URL=f"sqlite+aiosqlite:///{work / 'desk.db'}",
    )
    servers = [
        sandbox_server(sandbox_port, environment),
        action_server(action_port, environment),
        rasa_server(model, rasa_port, environment),
        desk_server(desk_port, environment),
    ]
    for server in servers:
        server.log_dir = work / "logs"
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_ready(300)
        yield Stack(
            f"http://127.0.0.1:{rasa_port}",
            environment["BACKEND_URL"],
            environment["SANDBOX_SERVICE_SECRET"],
            work / "sandbox.db",
            work / "events.db",
            servers,
        )
    finally:
        stop_all(servers)


def sqlite_file(url: str, variable: str) -> Path:
    """The file of an SQLite URL of the profile (relative paths from the project root)."""
    scheme, _, path = url.partition(":///")
    if not scheme.startswith("sqlite"):
        raise SystemExit(f"--running reads the embedded profile's SQLite files; {variable}={url}")
    return PROJECT_ROOT / path if not path.startswith("/") else Path(path)


@contextmanager
def started_by_scripts_run() -> Iterator[Stack]:
    """The assistant `scripts/run` is serving (embedded profile): its conversations reach the
    analytics service it started, and so the supervisors' page."""
    environment = process_environment()
    stack = Stack(
        f"http://127.0.0.1:{environment['RASA_PORT']}",
        environment["BACKEND_URL"],
        environment["SANDBOX_SERVICE_SECRET"],
        sqlite_file(environment["SANDBOX_DATABASE_URL"], "SANDBOX_DATABASE_URL"),
        sqlite_file(environment["EVENT_BROKER_URL"], "EVENT_BROKER_URL"),
        [],
        environment["CHANNEL_SIGNING_SECRET"],
    )
    try:
        with urllib.request.urlopen(f"{stack.rasa_url}/", timeout=5):
            pass
    except OSError as error:
        raise SystemExit(f"no assistant at {stack.rasa_url}: start scripts/run first") from error
    yield stack


class Backend:
    """The sandbox as the judge and the phone see it (the service secret, one customer)."""

    # Tables the API does not list back, counted per customer for the judge.
    TABLES = {"disputes"}

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def read(self, customer: str, path: str) -> Any:
        if path.startswith("table:"):
            return self.count(customer, path.removeprefix("table:"))
        headers = {
            "Authorization": f"Bearer {self.stack.backend_secret}",
            "X-Customer-Id": customer,
        }
        try:
            return _call(f"{self.stack.backend_url}/v1/customers/me{path}", headers=headers)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def count(self, customer: str, table: str) -> int:
        if table not in self.TABLES:
            raise ValueError(f"no count of {table}")
        with closing(sqlite3.connect(self.stack.sandbox_database, timeout=30)) as database:
            (count,) = database.execute(
                f"SELECT COUNT(*) FROM {table} WHERE customer_id = ?", (customer,)
            ).fetchone()
        return int(count)

    def snapshot(self, customer: str) -> Snapshot:
        return Snapshot(lambda path: self.read(customer, path))

    def latest_code(self, customer: str) -> str | None:
        inbox = _call(
            f"{self.stack.backend_url}/sandbox/devices/{customer}/messages?limit=1",
            headers={"Authorization": f"Bearer {self.stack.backend_secret}"},
        )
        messages = inbox.get("messages") or []
        return messages[0].get("code") if messages else None


class LiveChat:
    """A signed-in customer's chat over the signed REST channel, with a sign-in token
    minted as the web chat's sign-in does."""

    def __init__(self, stack: Stack, backend: Backend, customer: str) -> None:
        self.stack, self.backend, self.customer = stack, backend, customer
        token = issue_sign_in_token(customer, stack.signing_secret.encode())
        self.headers = {"Authorization": f"Bearer {token}"}

    def send(self, message: str) -> list[dict[str, Any]]:
        replies = _call(
            f"{self.stack.rasa_url}/webhooks/signed_rest/webhook",
            # The channel takes the sender from the token; this one is what it would be.
            {"sender": bound_sender_id(self.customer), "message": message},
            self.headers,
            timeout=MESSAGE_TIMEOUT_SECONDS,
        )
        return replies if isinstance(replies, list) else []

    def latest_code(self) -> str | None:
        return self.backend.latest_code(self.customer)

    def snapshot(self) -> Snapshot:
        return self.backend.snapshot(self.customer)


class Casting:
    """Finds, for a goal, a customer of the sandbox it fits, who is not in another chat of
    the run; customers who have not talked yet first."""

    def __init__(self, backend: Backend, customers: int, rng: random.Random) -> None:
        self.backend = backend
        self.everyone = [f"C{number:05d}" for number in range(1, customers + 1)]
        self.rng = rng
        self.busy: set[str] = set()
        self.talked: set[str] = set()
        # Customers who did not get what they came for and will try again later.
        self.comebacks: list[tuple[str, Goal]] = []
        self.lock = threading.Lock()

    def come_back_later(self, customer: str, goal: Goal) -> None:
        with self.lock:
            self.comebacks.append((customer, goal))

    def cast_comeback(
        self, rng: random.Random
    ) -> tuple[Goal, str, dict[str, Any], Snapshot] | None:
        """The first customer due back who is not in a chat, if their goal still fits them."""
        with self.lock:
            for waiting in list(self.comebacks):
                customer, goal = waiting
                if customer in self.busy:
                    continue
                self.comebacks.remove(waiting)
                before = self.backend.snapshot(customer)
                particulars = goal.particulars(before, rng)
                if particulars is not None:
                    for path in goal.remembers:
                        before.get(path)
                    self.busy.add(customer)
                    return goal, customer, particulars, before
        return None

    def cast(
        self, goal: Goal, rng: random.Random
    ) -> tuple[str, dict[str, Any], Snapshot, bool] | None:
        with self.lock:
            fresh = [c for c in self.everyone if c not in self.talked and c not in self.busy]
            again = [c for c in self.everyone if c in self.talked and c not in self.busy]
            rng.shuffle(fresh)
            rng.shuffle(again)
            for customer in (fresh + again)[:CANDIDATES_PER_GOAL]:
                before = self.backend.snapshot(customer)
                particulars = goal.particulars(before, rng)
                if particulars is not None:
                    for path in goal.remembers:
                        before.get(path)
                    returning = customer in self.talked
                    self.busy.add(customer)
                    self.talked.add(customer)
                    return customer, particulars, before, returning
        return None

    def release(self, customer: str) -> None:
        with self.lock:
            self.busy.discard(customer)


def one_conversation(
    index: int, seed: int, stack: Stack, backend: Backend, casting: Casting
) -> Outcome:
    rng = random.Random(f"{seed}:{index}")
    voice, habits = Voice.draw(rng), Habits.draw(rng)
    comeback = casting.cast_comeback(rng)
    if comeback is not None:
        goal, customer, particulars, before = comeback
        returning = True
    else:
        while True:
            goal = draw_goal(rng)
            cast = casting.cast(goal, rng)
            if cast is not None:
                break
        customer, particulars, before, returning = cast
    chat = LiveChat(stack, backend, customer)
    try:
        if returning:
            # A customer back later: a new session, as after the hour of silence would start.
            chat.send("/session_start")
        conversation = Conversation(goal, particulars, customer, chat, rng, voice, habits)
        outcome = conversation.run(before)
        outcome.came_back = comeback is not None
        if (
            not outcome.met
            and goal.in_scope
            and not outcome.left_half_way
            and rng.random() < COMEBACK_SHARE
        ):
            casting.come_back_later(customer, goal)
        return outcome
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
        return Outcome(
            goal.name,
            goal.line,
            goal.in_scope,
            customer,
            met=False,
            reason="the conversation broke",
            habits=habits.names(),
            transcript=Transcript(),
            error=f"{type(error).__name__}: {error}"[:300],
        )
    finally:
        casting.release(customer)


def run_conversations(
    stack: Stack,
    conversations: int,
    concurrency: int,
    seed: int,
    customers: int,
    deadline: float | None,
) -> list[Outcome]:
    backend = Backend(stack)
    casting = Casting(backend, customers, random.Random(seed))
    outcomes: list[Outcome] = []
    progress = threading.Lock()

    def run(index: int) -> None:
        if deadline is not None and time.monotonic() > deadline:
            return
        outcome = one_conversation(index, seed, stack, backend, casting)
        with progress:
            outcomes.append(outcome)
            if len(outcomes) % 50 == 0 or len(outcomes) == conversations:
                met = sum(o.met for o in outcomes)
                print(f"  {len(outcomes)} conversations, {met} goals met", flush=True)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(run, range(conversations)))
    return outcomes


def analytics_kpis(events_database: Path, work: Path) -> dict[str, Any] | str:
    """The run's events through the analytics pipeline into a store of the run's own; its
    KPIs, or why there are none."""
    try:
        from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
        from analytics.kpis import KpiFilters, compute_kpis
        from analytics.store import open_store
    except ImportError as error:
        return f"the analytics package is not available ({error})"
    engine = open_store(f"sqlite:///{work / 'analytics.db'}")
    # The run is over, so every one of its sessions has ended: read as if the customers had
    # been silent long enough for a flow left half-way to count as abandoned.
    ingestor = Ingestor(
        engine,
        catalogue_lines(),
        idle_seconds=SESSION_IDLE_SECONDS,
        clock=lambda: time.time() + SESSION_IDLE_SECONDS + 1,
    )
    reader = SqlBrokerReader(f"sqlite:///{events_database}", ingestor)
    try:
        while reader.read_once():
            pass
        with engine.connect() as connection:
            return compute_kpis(connection, KpiFilters())
    except Exception as error:  # the customers' own figures are still worth writing
        return (
            f"the analytics pipeline failed on the run's events ({type(error).__name__}: {error})"
        )
    finally:
        reader.close()


# -- the report ------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def success_rows(outcomes: list[Outcome], key: str) -> list[tuple[str, int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in outcomes:
        row = totals[getattr(outcome, key)]
        row[0] += 1
        row[1] += outcome.met
    return sorted(((name, n, met) for name, (n, met) in totals.items()), key=lambda r: -r[1])


def render(
    outcomes: list[Outcome],
    kpis: dict[str, Any] | str,
    settings: dict[str, Any],
    errors: list[str],
) -> str:
    in_scope = [o for o in outcomes if o.in_scope]
    out_of_scope = [o for o in outcomes if not o.in_scope]
    met = sum(o.met for o in in_scope)
    overall = percent(met / len(in_scope) if in_scope else None)
    broken = [o for o in outcomes if o.error]
    returned = [o for o in outcomes if o.came_back]
    messages = sum(
        turn.speaker == "customer" for outcome in outcomes for turn in outcome.transcript.turns
    )
    parts = []
    if settings["conversations_run"] < settings["conversations"]:
        parts.append(
            f"**Partial run**: {settings['conversations_run']} of the "
            f"{settings['conversations']} conversations asked for fitted in the time given "
            f"(--minutes {settings['minutes']}).\n"
        )
    parts.append(f"""## What the customers got (the simulator's own judgement)

{len(outcomes)} conversations of synthetic customers of the sandbox ({messages} messages from \
the customers), {settings["concurrency"]} at a time, in {settings["seconds"] / 60:.0f} min, seed \
{settings["seed"]}; model {settings["model"]}. Each customer had one goal and \
judged at the end, from the back end's state or the answer they were given, whether they got it.

| | conversations | goal met | rate |
|---|---|---|---|
| in scope (all lines) | {len(in_scope)} | {met} | {overall} |""")
    for line, n, line_met in success_rows(in_scope, "line"):
        parts.append(f"| line: {line} | {n} | {line_met} | {percent(line_met / n)} |")
    handled = sum(o.met for o in out_of_scope)
    parts.append(
        f"| out of scope (told so, or passed to a person) | {len(out_of_scope)} | {handled} | "
        f"{percent(handled / len(out_of_scope) if out_of_scope else None)} |"
    )
    parts.append("\n| goal | line | conversations | met | rate | most common reason when not |")
    parts.append("|---|---|---|---|---|---|")
    lines = {goal.name: goal.line for goal in GOALS}
    for name, n, goal_met in success_rows(outcomes, "goal"):
        reasons = Counter(o.reason for o in outcomes if o.goal == name and not o.met)
        why = reasons.most_common(1)[0][0] if reasons else ""
        parts.append(
            f"| {name} | {lines[name]} | {n} | {goal_met} | {percent(goal_met / n)} | {why} |"
        )
    ratings = Counter(o.rating for o in outcomes if o.rating is not None)
    asked = sum(o.rating_asked for o in outcomes)
    parts.append(f"""
- Asked to rate: {asked}; rated: {sum(ratings.values())} \
({", ".join(f"{stars}: {ratings[stars]}" for stars in range(1, 6))}). Customers rate 4-5 \
mostly when their goal was met and 1-3 mostly when not (bench/simulator_customer.py).
- Came back later about the same goal after it was not met the first time (half of those \
customers do): {len(returned)}, of whom {sum(o.met for o in returned)} got it then.
- Passed to a person or promised a callback: {sum(o.handed_off for o in outcomes)}; \
misunderstood at least once: {sum(o.misunderstood > 0 for o in outcomes)}; left half-way on \
purpose: {sum(o.left_half_way for o in outcomes)}.
- Conversations that broke (HTTP error or timeout): {len(broken)}.""")
    parts += [f"  - {o.goal} ({o.customer}): `{o.error}`" for o in broken[:5]]
    parts.append(f"- Errors in the servers' logs during the run: {len(errors)}.")
    parts += [f"  - `{line[:200]}`" for line in errors[:5]]
    parts.append(render_kpis(kpis))
    parts.append(render_misses(outcomes))
    parts.append(render_demand())
    parts.append(render_examples(outcomes))
    return "\n".join(parts)


def render_kpis(kpis: dict[str, Any] | str) -> str:
    if isinstance(kpis, str):
        return f"\n## The service's KPIs (analytics)\n\nNot computed: {kpis}.\n"
    satisfaction = kpis.get("satisfaction") or {}
    ours = {
        "self-service (containment) rate": kpis.get("self_service_rate"),
        "first-contact resolution": kpis.get("first_contact_resolution_rate"),
        "satisfaction (CSAT)": satisfaction.get("csat"),
    }
    rows = [
        "\n## The service's KPIs (analytics), beside the seed's figures",
        "",
        f"The run's Rasa events (SQL event broker) ingested by the analytics pipeline and "
        f"measured by `analytics.kpis.compute_kpis` with the default filters: "
        f"{kpis.get('sessions')} sessions.",
        "",
        "| KPI | this run | the seed's service |",
        "|---|---|---|",
    ]
    for name, seed in SEED_FIGURES.items():
        rows.append(f"| {name} | {percent(ours[name])} | {percent(seed)} |")
    escalation = kpis.get("escalation") or {}
    abandonment = kpis.get("abandonment") or {}
    length = kpis.get("conversation_length") or {}
    resolution = kpis.get("time_to_resolution_seconds") or {}
    reasons = ", ".join(f"{k} {v}" for k, v in (escalation.get("reasons") or {}).items())
    rows += [
        f"| satisfaction: average (1-5) | {satisfaction.get('average')} | |",
        f"| satisfaction: responses / asked | {satisfaction.get('responses')} / "
        f"{satisfaction.get('asked')} ({percent(satisfaction.get('response_rate'))}) | |",
        f"| escalation rate | {percent(escalation.get('rate'))} ({reasons}) | |",
        f"| abandonment rate | {percent(abandonment.get('rate'))} | |",
        f"| fallback rate | {percent(kpis.get('fallback_rate'))} | |",
        f"| clarification rate | {percent(kpis.get('clarification_rate'))} | |",
        f"| out-of-scope rate | {percent(kpis.get('out_of_scope_rate'))} | |",
        f"| conversation length: average / median messages | "
        f"{length.get('average_messages')} / {length.get('median_messages')} | |",
        f"| time to resolution: median / p90 | {resolution.get('median')} s / "
        f"{resolution.get('p90')} s | |",
        "",
        "| line | sessions | self-service | first-contact resolution | CSAT | escalation |",
        "|---|---|---|---|---|---|",
    ]
    for row in kpis.get("by_line") or []:
        rows.append(
            f"| {row.get('line')} | {row.get('sessions')} | "
            f"{percent(row.get('self_service_rate'))} | "
            f"{percent(row.get('first_contact_resolution_rate'))} | {percent(row.get('csat'))} "
            f"| {percent(row.get('escalation_rate'))} |"
        )
    return "\n".join(rows)


def render_demand() -> str:
    shares = sorted(line_weights().items(), key=lambda item: -item[1])
    listed = ", ".join(f"{line} {100 * share:.0f}%" for line, share in shares)
    return f"""
## How the customers were made

- Demand by product line (the goals' weights): {listed}. Goals per line and their weights are \
in bench/simulator_goals.py.
- Words: templates with alternatives and slots (their amount, their recipient, the merchant \
of their failed payment), then each customer's habits: typos, no capitals, no punctuation, \
fillers; a text that is one of data/nlu's examples is drawn again.
- Habits per conversation: greets first (20%), changes their mind half-way and starts again \
(8%), asks something else mid-flow (12%), asks for a person after a second misunderstanding \
(50%), leaves half-way (4%), says thanks at the end (40%); half of those whose goal was not met \
come back later in the run about it (a new session).
- Customers answer the security codes from the sandbox's phone inbox, press the buttons that \
fit, and rate when asked (70% of those whose goal was met, 50% of the others)."""


def render_misses(outcomes: list[Outcome], limit: int = 12) -> str:
    """One unmet conversation per goal: what the customer said first and what they got."""
    rows = [
        "\n## Where customers did not get what they came for",
        "",
        "One conversation per goal (not the ones who left on purpose): the customer's first "
        "request and the assistant's first answer.",
        "",
        "| goal | the customer said | the assistant answered | judged |",
        "|---|---|---|---|",
    ]
    seen: set[str] = set()
    for outcome in outcomes:
        if outcome.met or outcome.left_half_way or outcome.goal in seen or outcome.error:
            continue
        turns = outcome.transcript.turns
        asked = [i for i, turn in enumerate(turns) if turn.speaker == "customer"]
        if not asked:
            continue
        # The request itself, after the hello of those who greet first.
        opening = asked[1 if "greets_first" in outcome.habits and len(asked) > 1 else 0]
        said = turns[opening].text
        answer = next((t.text for t in turns[opening + 1 :] if t.speaker == "assistant"), "")
        seen.add(outcome.goal)
        rows.append(
            f"| {outcome.goal} | {cell(said, 90)} | {cell(answer, 140)} | {outcome.reason} |"
        )
        if len(seen) == limit:
            break
    return "\n".join(rows) if seen else ""


def cell(text: str, length: int) -> str:
    """Text for a Markdown table cell: one line, no pipes, cut to ``length``."""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def render_examples(outcomes: list[Outcome]) -> str:
    parts = ["\n## Two conversations of the run"]
    met = next((o for o in outcomes if o.met and len(o.transcript.turns) > 4), None)
    missed = next((o for o in outcomes if not o.met and o.in_scope and o.transcript.turns), None)
    for title, outcome in (("a goal met", met), ("a goal not met", missed)):
        if outcome is None:
            continue
        parts.append(f"\n{title}: {outcome.goal}, {outcome.customer} ({outcome.reason}):\n")
        for turn in outcome.transcript.turns[:14]:
            text = " ".join(turn.text.split())[:180]
            buttons = " ".join(f"[{b.get('title')}]" for b in turn.buttons)[:120]
            who = "customer" if turn.speaker == "customer" else "assistant"
            parts.append(f"- {who}: {text} {buttons}".rstrip())
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=DEFAULT_CONVERSATIONS)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--customers",
        type=int,
        default=DEFAULT_CUSTOMERS,
        help="synthetic customers the sandbox seeds (C00001...)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="start no conversation after this long; the report says how many ran",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="the model to talk to (default: the current tree's, trained if missing)",
    )
    parser.add_argument(
        "--running",
        action="store_true",
        help="talk to the assistant scripts/run serves instead of starting one, so that the "
        "supervisors' page shows the conversations (results file default: a temporary one)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/kpis.md")
    args = parser.parse_args()
    out = args.out or (WORK_DIR / "running-kpis.md" if args.running else RESULTS_DIR / "kpis.md")

    made = provenance_fields()
    model = None if args.running else args.model or ensure_model()
    work = WORK_DIR / f"run-{args.seed}-{args.conversations}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    deadline = time.monotonic() + 60 * args.minutes if args.minutes else None
    if args.running:
        stack_context = started_by_scripts_run()
        customers = int(process_environment().get("SANDBOX_CUSTOMERS") or DEFAULT_CUSTOMERS)
    else:
        print("starting the servers", flush=True)
        stack_context = running_stack(work, args.customers, model)
        customers = args.customers
    with stack_context as stack:
        print(f"{args.conversations} conversations, {args.concurrency} at a time", flush=True)
        started = time.monotonic()
        outcomes = run_conversations(
            stack, args.conversations, args.concurrency, args.seed, customers, deadline
        )
        seconds = time.monotonic() - started
        errors = server_errors(stack.servers)
    (work / "outcomes.json").write_text(
        json.dumps(
            [
                {
                    **{k: v for k, v in vars(o).items() if k != "transcript"},
                    "transcript": [vars(t) for t in o.transcript.turns],
                }
                for o in outcomes
            ],
            indent=1,
            default=str,
        )
    )
    kpis = analytics_kpis(stack.events_database, work)
    settings = {
        "conversations": args.conversations,
        "conversations_run": len(outcomes),
        "concurrency": args.concurrency,
        "seed": args.seed,
        "minutes": args.minutes,
        "model": model.name if model else "the one scripts/run serves",
        "seconds": seconds,
    }
    title = "Voice of the customer: simulated customers and the service's KPIs"
    print(write_results("kpis", title, render(outcomes, kpis, settings, errors), out, made=made))
    if not outcomes or all(o.error for o in outcomes):
        sys.exit("no conversation got through; see the servers' logs in " + str(work / "logs"))


if __name__ == "__main__":
    main()
