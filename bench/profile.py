"""Where one message's milliseconds go, end to end, profiled with yappi; before and after.

Starts the assistant as bench/latency.py does (sandbox back end, action server, Rasa server;
embedded profile: SQLite tracker store and event broker) on loopback and free ports, the Rasa
server and the action server each under yappi (bench/profiled_server.py: wall clock, every
thread, coroutines timed awaits included). One signed-in customer then has bench/latency.py's
conversation (a session start, the bank balance, a declined card, wallet payments, freezing
the card and saying no, goodbye) over the signed REST channel, one message at a time: once to
warm up, --repetitions times with the profiler off (the client's timing), and --repetitions
times with it on. Each message's wall time is split into the channel, each NLU graph node,
policy prediction (each policy node), the tracker store's reads and writes, the event broker,
the action server round trip and the back-end calls (yappi's figures in the action server,
and each call by route from the sandbox's request log).

With --before REVISION the same is measured, in the same run and by today's copy of this
code, on a git worktree of REVISION (bench/worktree.py), with that revision's model when
models/ holds it (the model's fingerprint at REVISION), else with today's.

    .venv/bin/python -m bench.profile [--smoke] [--before REVISION] [--repetitions N]
        [--model PATH] [--out PATH]

Writes bench/results/profile.md (--smoke: bench/results/profile-smoke.md, or --out); the raw
profiles stay in .cache/bench/profile/ (JSON: every function, its callees, calls, seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

from bench.latency import PROJECT_SCRIPT, pick_customers, server_errors
from bench.project_environment import project_environment
from bench.report import RESULTS_DIR, provenance_fields, write_results
from bench.worktree import checkout
from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET, PROJECT_ROOT
from common.ports import free_port
from tests.e2e.servers import E2E_CUSTOMERS, RunningAssistant
from tooling.model_cache import MODELS_DIR, ensure_model, model_fingerprint, model_path
from tooling.processes import Server, action_server, rasa_server, sandbox_server, stop_all
from tooling.rasa_cli import log_tail

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "profile"
FULL_REPETITIONS = 5
SMOKE_REPETITIONS = 1
# Files of today's that the worktree of --before runs, so both revisions are measured alike.
PROFILER_FILES = [
    "bench/profile.py",
    "bench/profiled_server.py",
    "bench/project_environment.py",
    "bench/worktree.py",
]
STATS_WAIT_SECONDS = 60
# A measurement of the --before worktree that takes longer than this is stopped.
BEFORE_TIMEOUT_SECONDS = 1800


def code_key(code: CodeType) -> tuple[str, int]:
    """How yappi names a function: its file and first line."""
    return os.path.realpath(code.co_filename), code.co_firstlineno


def function_key(function: Callable[..., Any]) -> tuple[str, int]:
    return code_key(function.__code__)


def nested_key(outer: Callable[..., Any], name: str) -> tuple[str, int]:
    """The key of the function ``name`` defined inside ``outer`` (a route handler)."""
    for constant in outer.__code__.co_consts:
        if isinstance(constant, CodeType) and constant.co_name == name:
            return code_key(constant)
    raise LookupError(f"{outer.__qualname__} defines no {name}")


class Profile:
    """One process's yappi figures, by function (file, first line)."""

    def __init__(self, stats: list[dict[str, Any]]) -> None:
        self.calls: dict[tuple[str, int], int] = defaultdict(int)
        self.seconds: dict[tuple[str, int], float] = defaultdict(float)
        self.callee_seconds: dict[tuple[tuple[str, int], tuple[str, int]], float] = defaultdict(
            float
        )
        self.callee_calls: dict[tuple[tuple[str, int], tuple[str, int]], int] = defaultdict(int)
        for stat in stats:
            key = (os.path.realpath(stat["file"]), stat["line"])
            self.calls[key] += stat["calls"]
            self.seconds[key] += stat["seconds"]
            for callee in stat["callees"]:
                edge = (key, (os.path.realpath(callee["file"]), callee["line"]))
                self.callee_seconds[edge] += callee["seconds"]
                self.callee_calls[edge] += callee["calls"]


@dataclass
class Part:
    """A share of a message's wall time: total milliseconds and calls over the run."""

    name: str
    milliseconds: float
    calls: int
    level: int = 0


def graph_nodes(model: Path) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The model's inference graph, as (node names, the function they run): the nodes the
    NLU runs, and the others (policies and what they need). Nodes of one class that run the
    same function (two count-vector featurizers) share a row: yappi times the function."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    metadata = LocalModelStorage.metadata_from_archive(model)
    nodes = metadata.predict_schema.nodes
    understanding: set[str] = set()
    waiting = [metadata.nlu_target]
    while waiting:
        name = waiting.pop()
        if name in nodes and name not in understanding:
            understanding.add(name)
            waiting.extend(nodes[name].needs.values())
    names_by_function: dict[tuple[bool, Any], list[str]] = defaultdict(list)
    for name, node in nodes.items():
        names_by_function[(name in understanding, getattr(node.uses, node.fn))].append(name)
    rows: tuple[list[tuple[str, Any]], list[tuple[str, Any]]] = ([], [])
    for (in_understanding, function), names in names_by_function.items():
        rows[0 if in_understanding else 1].append((" + ".join(names), function))
    return rows


def rasa_parts(profile: Profile, model: Path) -> list[Part]:
    """The Rasa server's share, in parts that do not overlap, then the rest of the handler."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.utils.endpoints import EndpointConfig

    from channels.rest import CustomerRestInput

    def total(key: tuple[str, int]) -> tuple[float, int]:
        return profile.seconds.get(key, 0.0) * 1000, profile.calls.get(key, 0)

    receive = nested_key(CustomerRestInput.blueprint, "receive")
    parse = function_key(MessageProcessor.parse_message)
    predict = function_key(MessageProcessor._predict_next_with_tracker)
    retrieve = function_key(SQLTrackerStore.retrieve)
    save = function_key(SQLTrackerStore.save)
    stream = function_key(TrackerStore.stream_events)
    publish = function_key(SQLEventBroker.publish)
    try:
        # Since the project's store saves without Rasa's streaming: it stores the new events,
        # then publishes them in one go (the revision measured decides which code ran).
        from common.tracker_store import StrictSQLTrackerStore, publish_together
    except ImportError:
        pass
    else:
        save = function_key(StrictSQLTrackerStore.save)
        stream = publish = function_key(publish_together)
    remote = function_key(RemoteAction.run)
    validate = function_key(RemoteAction._validate_action_result)
    request = function_key(EndpointConfig.request)

    # Rasa's SQL tracker store reads the tracker again while saving it, to tell the broker
    # which events are new: that read is the broker's, not one of the message's own reads.
    diff_read_ms = profile.callee_seconds.get((stream, retrieve), 0.0) * 1000
    diff_reads = profile.callee_calls.get((stream, retrieve), 0)
    read_ms, reads = total(retrieve)
    save_ms, saves = total(save)
    stream_ms, _ = total(stream)
    publish_ms, publishes = total(publish)

    understanding, policies = graph_nodes(model)
    parts = [Part("NLU (MessageProcessor.parse_message)", *total(parse))]
    parts += [Part(f"node {name}", *total(function_key(fn)), 1) for name, fn in understanding]
    try:
        # Since the NLU left the event loop: the worker thread's hand-off, parse excluded.
        from channels.understanding import understand
    except ImportError:
        handoff = Part("NLU hand-off to its worker thread", 0.0, 0)
    else:
        handoff_ms, handoffs = total(function_key(understand))
        handoff = Part(
            "NLU hand-off to its worker thread", handoff_ms - parts[0].milliseconds, handoffs
        )
    parts.append(handoff)
    parts.append(
        Part("policy prediction (MessageProcessor._predict_next_with_tracker)", *total(predict))
    )
    parts += [Part(f"node {name}", *total(function_key(fn)), 1) for name, fn in policies]
    parts += [
        Part("tracker store read", read_ms - diff_read_ms, reads - diff_reads),
        Part("tracker store write", save_ms - stream_ms, saves),
        Part("event broker: tracker re-read for the new events", diff_read_ms, diff_reads),
        Part("event broker: publish", publish_ms, publishes),
        Part("event broker: rest of streaming", stream_ms - diff_read_ms - publish_ms, 0),
        Part("action server round trip (RemoteAction.run)", *total(remote)),
        Part("HTTP request and answer (EndpointConfig.request)", *total(request), 1),
        Part("checking the answer against Rasa's JSON schema", *total(validate), 1),
    ]
    handler_ms, handled = total(receive)
    accounted = sum(part.milliseconds for part in parts if part.level == 0)
    return [
        Part("Rasa server: the channel's request handler (all of the below)", handler_ms, handled),
        Part(
            "channel (signature, limits, paused check, reply), lock, Rasa's loop, local actions",
            handler_ms - accounted,
            0,
        ),
        *parts,
    ]


def action_server_parts(profile: Profile) -> list[Part]:
    """The action server's share of the round trip, and its back-end calls."""
    import httpx
    from rasa_sdk.endpoint import create_app

    handler_ms = profile.seconds.get(nested_key(create_app, "webhook"), 0.0) * 1000
    handled = profile.calls.get(nested_key(create_app, "webhook"), 0)
    backend = function_key(httpx.AsyncClient.request)
    backend_ms = profile.seconds.get(backend, 0.0) * 1000
    return [
        Part("action server: request handler", handler_ms, handled, 2),
        Part(
            "back-end calls (HTTP, from the action server)",
            backend_ms,
            profile.calls.get(backend, 0),
            3,
        ),
        Part("action server: actions' own work", handler_ms - backend_ms, 0, 3),
    ]


def backend_routes(log_path: Path, start: int, end: int) -> list[Part]:
    """Each back-end route called while profiling, as the sandbox's request log timed it."""
    calls: dict[str, int] = defaultdict(int)
    milliseconds: dict[str, float] = defaultdict(float)
    with log_path.open("rb") as log:
        log.seek(start)
        for line in log.read(end - start).decode(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("logger") == "request":
                route = f"{record['method']} {record['path']}"
                calls[route] += 1
                milliseconds[route] += record["duration_ms"]
    return [
        Part(f"back end (sandbox's own time): {route}", milliseconds[route], calls[route], 4)
        for route in sorted(calls, key=lambda route: -milliseconds[route])
    ]


def profiled(server: Server, stats_path: Path) -> Server:
    """``server`` run under bench/profiled_server.py (its command is python -m MODULE ...)."""
    python, _, module, *arguments = server.command
    server.command = [python, "-m", "bench.profiled_server", str(stats_path), module, *arguments]
    return server


def converse(assistant: RawConversation, repetitions: int) -> list[float]:
    return [seconds for _ in range(repetitions) for seconds in assistant.one_conversation()]


class RawConversation:
    """The scripted conversation of one signed-in customer, message by message, timed."""

    def __init__(self, assistant: RunningAssistant, sign_in_token: str) -> None:
        self.assistant, self.sign_in_token = assistant, sign_in_token
        self.transcript: list[tuple[str, str]] = []

    def one_conversation(self) -> list[float]:
        timings, self.transcript = [], []
        for message in PROJECT_SCRIPT:
            started = time.perf_counter()
            status, replies = self.assistant.say("profile", message, self.sign_in_token)
            timings.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{message!r} got HTTP {status}")
            said = " / ".join(" ".join((reply.get("text") or "").split()) for reply in replies)
            self.transcript.append((message, said or "(no reply)"))
        if all(reply == "(no reply)" for _, reply in self.transcript):
            raise RuntimeError("the assistant answered nothing in a whole conversation")
        return timings


def wait_for(path: Path, server: Server) -> list[dict[str, Any]]:
    deadline = time.monotonic() + STATS_WAIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{server.name} wrote no profile:\n{server.log_tail()}")
        time.sleep(0.2)
    return json.loads(path.read_text())


def measure(model: Path, work: Path, repetitions: int, warm_up: bool = True) -> dict[str, Any]:
    """Runs the servers of the tree this code is in and profiles the conversation.

    Without ``warm_up`` the first conversation, timed with the profiler off, warms up."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    rasa_port, action_port, sandbox_port = free_port(), free_port(), free_port()
    environment = project_environment(
        work,
        action_port,
        sandbox_port,
        E2E_CUSTOMERS,
        # One process each, so that the profiler in it sees every call.
        ACTION_SERVER_SANIC_WORKERS="1",
        SANIC_WORKERS="1",
    )
    rasa_stats, action_stats = work / "rasa-profile.json", work / "actions-profile.json"
    sandbox = sandbox_server(sandbox_port, environment)
    actions = profiled(action_server(action_port, environment), action_stats)
    rasa = profiled(rasa_server(model, rasa_port, environment), rasa_stats)
    servers = [sandbox, actions, rasa]
    for server in servers:
        server.log_dir = work / "logs"
    try:
        print(f"starting the servers (logs in {work / 'logs'})", flush=True)
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_ready()
        print(f"conversing: {repetitions} without the profiler, then with it", flush=True)
        backend_url, secret = environment["BACKEND_URL"], environment["SANDBOX_SERVICE_SECRET"]
        (customer,) = pick_customers(backend_url, secret, 1)
        assistant = RunningAssistant(
            f"http://127.0.0.1:{rasa_port}",
            environment["RASA_API_TOKEN"],
            servers,
            backend_url,
            secret,
            environment["DESK_URL"],
            environment,
        )
        conversation = RawConversation(
            assistant, issue_sign_in_token(customer, DEV_SIGNING_SECRET.encode())
        )
        if warm_up:
            conversation.one_conversation()
        unprofiled = converse(conversation, repetitions)
        for server in (rasa, actions):
            os.kill(server.process.pid, signal.SIGUSR1)
        sandbox_log_start = sandbox.log_path.stat().st_size
        profiled_timings = converse(conversation, repetitions)
        sandbox_log_end = sandbox.log_path.stat().st_size
        # Others share this machine: how busy it was while profiling.
        load_average = os.getloadavg()[0]
        for server in (rasa, actions):
            os.kill(server.process.pid, signal.SIGUSR2)
        rasa_profile = Profile(wait_for(rasa_stats, rasa))
        action_profile = Profile(wait_for(action_stats, actions))
    finally:
        stop_all(servers)
    messages = len(profiled_timings)
    parts = [
        Part("client: the whole request, profiler off", sum(unprofiled) * 1000, len(unprofiled)),
        Part(
            "client: the whole request, under the profiler", sum(profiled_timings) * 1000, messages
        ),
        *rasa_parts(rasa_profile, model),
    ]
    request = next(i for i, part in enumerate(parts) if part.name.startswith("HTTP request"))
    if not next(part for part in parts if part.name == "tracker store write").calls:
        raise RuntimeError(
            "the SQL tracker store saved nothing: did Rasa fall back to memory? "
            f"(logs in {work / 'logs'})"
        )
    handler, backend_calls, actions_own = action_server_parts(action_profile)
    routes = backend_routes(sandbox.log_path, sandbox_log_start, sandbox_log_end)
    parts[request + 1 : request + 1] = [handler, backend_calls, *routes, actions_own]
    return {
        "model": model.name,
        "load_average": load_average,
        "messages": messages,
        "unprofiled_messages": len(unprofiled),
        "parts": [vars(part) for part in parts],
        "transcript": conversation.transcript,
        "errors": server_errors(servers),
    }


def before_model(root: Path) -> Path:
    """The model of ``root``'s files: from models/ when it holds it, else trained there by that
    revision's own code (today's model names components an earlier revision does not have)
    and kept in models/ for the next run."""
    earlier = MODELS_DIR / model_path(model_fingerprint(root)).name
    if earlier.exists():
        return earlier
    print(f"training the model of {root.name}'s files (kept in models/ afterwards)", flush=True)
    log_path = root / "train-before.log"
    with log_path.open("w") as log:
        result = subprocess.run(
            [sys.executable, "-m", "tooling.model_cache"],
            cwd=root,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=BEFORE_TIMEOUT_SECONDS,
        )
    trained = root / "models" / earlier.name
    if result.returncode != 0 or not trained.exists():
        raise RuntimeError(f"training {root.name}'s model failed:\n{log_tail(log_path)}")
    shutil.move(trained, earlier)
    return earlier


def measure_before(revision: str, repetitions: int, work: Path) -> dict[str, Any]:
    """``measure`` on a worktree of ``revision``, by today's copy of this code, in a process
    that imports that revision's channels and actions."""
    with checkout(revision, PROFILER_FILES) as root:
        model = before_model(root)
        figures_path = work / "figures.json"
        work.mkdir(parents=True, exist_ok=True)
        log_path = work.parent / "before-measure.log"
        with log_path.open("w") as log:
            result = subprocess.run(
                [sys.executable, "-m", "bench.profile", "--measure-into", str(figures_path)]
                + ["--model", str(model), "--repetitions", str(repetitions), "--work", str(work)],
                cwd=root,
                # The caller's environment, so the worktree reads its own profile: today's
                # names classes that revision does not have, and Rasa would fall back to memory.
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=BEFORE_TIMEOUT_SECONDS,
            )
        if result.returncode != 0:
            raise RuntimeError(f"measuring {revision} failed:\n{log_tail(log_path)}")
        figures = json.loads(figures_path.read_text())
    return {**figures, "revision": revision}


def per_message(run: dict[str, Any], name: str) -> tuple[float, float]:
    """Milliseconds and calls per message of ``run``'s first part whose name starts so."""
    part = next(part for part in run["parts"] if part["name"].startswith(name))
    messages = run["unprofiled_messages" if "profiler off" in name else "messages"]
    return part["milliseconds"] / messages, part["calls"] / messages


def leaves(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The Rasa server's parts that have no parts of their own listed, largest first."""
    parts = run["parts"][3:]
    return sorted(
        (
            part
            for part, following in zip(parts, [*parts[1:], None], strict=True)
            if following is None or following["level"] <= part["level"]
        ),
        key=lambda part: -part["milliseconds"],
    )


def findings(runs: dict[str, dict[str, Any]]) -> str:
    """Where the milliseconds go, in sentences made from the figures."""
    names = list(runs)
    now = runs[names[-1]]

    def ms(run: dict[str, Any], name: str) -> str:
        return f"{per_message(run, name)[0]:.0f} ms"

    largest = leaves(now)[:4]
    largest_text = ", ".join(
        f"{part['name']} ({part['milliseconds'] / now['messages']:.0f} ms)" for part in largest
    )
    sentences = [
        f"Of the Rasa server's {ms(now, 'Rasa server')} per message now (under the profiler), "
        f"the largest parts are {largest_text}."
    ]
    if len(names) > 1:
        before = runs[names[0]]
        off, under = "client: the whole request, profiler off", "client: the whole request, under"
        sentences.insert(
            0,
            f"Seen by the client with the profiler off, a message took "
            f"{ms(before, off)} {names[0]} and {ms(now, off)} now; under the profiler, "
            f"which slows Python-heavy work the most, "
            f"{ms(before, under)} and {ms(now, under)}.",
        )
        read = [per_message(run, "tracker store read") for run in (before, now)]
        backend = [per_message(run, "back-end calls") for run in (before, now)]
        sentences.insert(
            1,
            f"The machine is shared (load average {before['load_average']:.1f} while "
            f"{names[0]} was profiled, {now['load_average']:.1f} now): calls per message do "
            f"not depend on it, milliseconds do.",
        )
        sentences.append(
            f"Per message the tracker store was read {read[0][1]:.2f} times before and "
            f"{read[1][1]:.2f} now ({read[0][0]:.0f} and {read[1][0]:.0f} ms), and the back end "
            f"called {backend[0][1]:.2f} and {backend[1][1]:.2f} times ({backend[0][0]:.0f} and "
            f"{backend[1][0]:.0f} ms)."
        )
    # Three costs of Rasa's own code as it comes, which the project's channels and tracker
    # store take out: each run's figure, so a reader sees whether they are still gone.
    costs = []
    for run_name in names:
        run = runs[run_name]
        publish_ms, publishes = per_message(run, "event broker: publish")
        costs.append(
            f"{run_name}: checking each action server answer against Rasa's JSON schema "
            f"{ms(run, 'checking the answer against')}, the tracker read again on every save "
            f"to tell the broker which events are new {ms(run, 'event broker: tracker re-read')}, "
            f"{publishes:.1f} broker commits {publish_ms:.0f} ms"
        )
    sentences.append(
        "Rasa's own costs that the hot-path work took out (a schema compiled once, "
        "channels/action_results.py; one save that hands its new events to the broker in one "
        "transaction, common/tracker_store.py), per message: " + "; ".join(costs) + ". The "
        f"models themselves now take {ms(now, 'NLU (')} (NLU) and "
        f"{ms(now, 'policy prediction')} (policies)."
    )
    return "## Where the milliseconds go\n\n" + " ".join(sentences) + "\n"


def render(runs: dict[str, dict[str, Any]], repetitions: int, smoke: bool) -> str:
    names = list(runs)
    per_run = {name: {part["name"]: part for part in run["parts"]} for name, run in runs.items()}
    # Rows in the order the last run gives them; a row only an earlier run has goes after the
    # row it follows there.
    rows: list[dict[str, Any]] = list(runs[names[-1]]["parts"])
    for run in names[:-1]:
        for previous, part in zip(
            [None, *runs[run]["parts"][:-1]], runs[run]["parts"], strict=True
        ):
            if all(row["name"] != part["name"] for row in rows):
                after = next(
                    (
                        i + 1
                        for i, row in enumerate(rows)
                        if previous and row["name"] == previous["name"]
                    ),
                    len(rows),
                )
                rows.insert(after, part)

    def cell(run: str, name: str) -> str:
        part = per_run[run].get(name)
        if part is None:
            return "- | -"
        messages = runs[run]["unprofiled_messages" if "profiler off" in name else "messages"]
        calls = f"{part['calls'] / messages:.2f}" if part["calls"] else ""
        return f"{part['milliseconds'] / messages:.1f} | {calls}"

    parts = []
    if smoke:
        parts.append(
            "**Smoke run**: one conversation profiled. It checks that the harness works; "
            "its figures mean little.\n"
        )
    parts.append(findings(runs))
    header = " | ".join(f"{name}: ms | {name}: calls" for name in names)
    parts.append(f"""## Per message, averaged over {repetitions} conversation(s) of \
{len(PROJECT_SCRIPT)} messages

Milliseconds of wall time per message and calls per message, under yappi (wall clock) \
unless the row says otherwise. Indented rows are parts of the row above them; the rows \
right under the request handler do not overlap and add up to it. yappi's own cost falls on \
every Python call, so Python-heavy parts (the JSON schema check, the rule policy) grow under \
it more than waits, SQLite or TensorFlow do: compare a row across runs. Messages: \
{", ".join(f"`{message}`" for message in PROJECT_SCRIPT)}.

| part | {header} |
|---|{"---|---|" * len(names)}""")
    for row in rows:
        indent = "&nbsp;&nbsp;" * (2 * row["level"])
        cells = " | ".join(cell(name, row["name"]) for name in names)
        parts.append(f"| {indent}{row['name']} | {cells} |")
    parts.append("\n## The runs\n")
    for name, run in runs.items():
        parts.append(
            f"- {name}: model {run['model']}; {run['messages']} messages profiled; load average "
            f"(1 min) at the end of profiling {run['load_average']:.1f} on {os.cpu_count()} cores; "
            f"errors in the servers' logs: {len(run['errors'])}"
        )
        parts += [f"  - `{line[:200]}`" for line in run["errors"][:5]]
    last = runs[names[-1]]
    parts.append(f"\nThe conversation ({names[-1]}, last repetition):\n")
    parts += [f"- `{message}` -> {reply[:160]}" for message, reply in last["transcript"]]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one conversation, no --before")
    parser.add_argument("--before", metavar="REVISION", help="also profile REVISION")
    parser.add_argument("--repetitions", type=int, default=None, help="conversations profiled")
    parser.add_argument("--out", type=Path, default=None, help="results file")
    # Used by --before: the worktree's process measures and writes its figures as JSON.
    parser.add_argument("--measure-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--model",
        type=Path,
        help="today's model (default: the one for the working tree's files, as scripts/run)",
    )
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke and args.before:
        parser.error("--smoke profiles today's tree only")
    repetitions = args.repetitions or (SMOKE_REPETITIONS if args.smoke else FULL_REPETITIONS)

    if args.measure_into:
        args.measure_into.write_text(json.dumps(measure(args.model, args.work, repetitions)))
        return

    made = provenance_fields()
    work = WORK_DIR / ("smoke" if args.smoke else "full")
    runs: dict[str, dict[str, Any]] = {}
    if args.before:
        print(f"profiling {args.before}", flush=True)
        runs[f"before ({args.before})"] = measure_before(args.before, repetitions, work / "before")
    print("profiling the tree as it is", flush=True)
    model = args.model or ensure_model()
    runs["now"] = measure(model, work / "now", repetitions, warm_up=not args.smoke)
    (work / "runs.json").write_text(json.dumps(runs, indent=2))
    out = args.out or RESULTS_DIR / f"profile{'-smoke' if args.smoke else ''}.md"
    title = "Profile of one message, end to end"
    print(write_results("profile", title, render(runs, repetitions, args.smoke), out, made=made))


if __name__ == "__main__":
    main()
