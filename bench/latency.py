"""Latency and throughput of the running assistant over REST, beside the stock `rasa init` one.

Starts, on loopback and free ports, the project's assistant as it runs (back-end sandbox, action
server, Rasa server; embedded profile) and the stock assistant that `rasa init --no-prompt`
creates (bench/stock_assistant.py; its own REST channel and in-memory tracker store); with
--scale-out also the scale-out profile (bench/latency_scale_out.py: two Rasa servers and two
action servers behind HAProxy, PostgreSQL, Redis, RabbitMQ). Then, one assistant after the
other, the same conversations:

- project (either profile): signed-in synthetic customers over the signed REST channel; each
  conversation opens a session and asks for the bank balance, why a card was declined and the
  recent wallet payments (custom actions calling the sandbox), starts freezing the card (a
  form that asks for confirmation) and says no;
- stock: anonymous REST conversations of its own intents (greet, mood, affirm, bot challenge,
  goodbye).

Closed loop (bench/loadgen.py, Locust as a library in a process of its own): N conversations
held open, each sending its next message as soon as the last is answered, at 1, 10 and 50
(with --scale-out: 10, 50 and 200); each level runs until --seconds or --messages (answered
messages per assistant), whichever comes first.

Paced (--paced; bench/latency_paced.py): customers who wait a uniform 5-30 s between messages,
as people read and type, in steps of 50, 100, 200, 400 and 800 customers, each step --step-seconds
long; an assistant's ramp stops at the first step whose p99 reaches one second, where a
message fails, or where the load generator nears a full core (then it, not the assistant,
is the limit), and the gap below that step is halved once (--no-refine: not). It gives the
largest number of such customers each assistant serves with p99 under one second.

--paced runs only the paced ramp unless levels are given with --concurrency; the scale-out
profile's ramp comes last. Per-message latency (p50, p95, p99) and messages per second go to
bench/results/latency.md, each kind of run into a section of its own (bench/latency_report.py;
--smoke: bench/results/latency-smoke.md, or --out), rewritten after every level and step, so
a run stopped early (Ctrl-C, SIGTERM) keeps what it measured, marked partial.

    .venv/bin/python -m bench.latency [--smoke] [--scale-out] [--paced]
        [--concurrency N ...] [--seconds N] [--messages N]
        [--steps N ...] [--step-seconds N] [--think LOW HIGH] [--no-refine] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.latency_report import CpuMeter, load_average, write_section
from bench.project_environment import LIFTED_LIMITS, project_environment
from bench.report import RESULTS_DIR, provenance_fields
from bench.stock_assistant import StockAssistant, ensure_stock_assistant
from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET, PROJECT_ROOT, process_environment
from common.ports import free_port
from common.settings import Environment
from tooling.model_cache import ensure_model
from tooling.processes import Server, action_server, rasa_server, sandbox_server, stop_all
from tooling.rasa_cli import log_tail
from tooling.scale_out import HEALTH_CHECK_TIMEOUT_SECONDS, ScaleOut, ScaleOutSettings

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "latency"
# Enough seeded customers for 50 conversations of customers with a bank account, a wallet and
# exactly one debit card, which is active (so "freeze my card" goes straight to confirming).
# About half the seeded customers fit; runs that need more seed more (customers_to_seed).
SANDBOX_CUSTOMERS = 150
PROJECT_SCRIPT = [
    "/session_start",
    "hello",
    "what's my bank balance?",
    "why was my card declined?",
    "show my recent wallet payments",
    "freeze my card",
    "no",
    "thanks, bye",
]
STOCK_SCRIPT = [
    "hello",
    "I am feeling sad",
    "yes",
    "are you a bot?",
    "great",
    "bye",
]
FULL = {"concurrency": [1, 10, 50], "seconds": 60, "messages": 3000}
SMOKE = {"concurrency": [1, 2], "seconds": 4, "messages": 30}
FULL_SCALE_OUT = {**FULL, "concurrency": [10, 50, 200]}
SMOKE_SCALE_OUT = {**SMOKE, "concurrency": [2]}
# Steps of at least 90 s: with 5-30 s between messages, every customer sends several.
FULL_PACED = {"steps": [50, 100, 200, 400, 800], "step_seconds": 90, "think": [5.0, 30.0]}
SMOKE_PACED = {"steps": [3], "step_seconds": 5, "think": [0.2, 1.0]}
# A step passes when its p99 stays under this and no message fails.
P99_LIMIT_MS = 1000
# A load generator busier than this share of its one core delays the messages it times.
GENERATOR_CPU_LIMIT_PERCENT = 80
# A load level that does not end by itself within its bound plus this is stopped.
LOADGEN_GRACE_SECONDS = 180
# The names the assistants go by in the tables.
PROJECT, SCALE_OUT, STOCK = "project", "project, scale-out", "stock"


def _request(
    url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data, {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None


class CustomerPool:
    """Unlocked sandbox customers with a bank account, a wallet and one debit card, which is
    active, in the order of their numbers; found as they are asked for, a few at a time."""

    # Customers looked up at once: the sandbox answers several lookups in parallel.
    BATCH = 32

    def __init__(self, backend_url: str, secret: str, among: int = SANDBOX_CUSTOMERS) -> None:
        self.backend_url, self.secret, self.among = backend_url, secret, among
        self.found: list[str] = []
        self.next_number = 1

    def _fits(self, number: int) -> bool:
        customer = f"C{number:05d}"
        headers = {"Authorization": f"Bearer {self.secret}", "X-Customer-Id": customer}
        _, profile = _request(f"{self.backend_url}/v1/customers/me", headers=headers)
        if (
            not profile
            or profile["account_locked"]
            or not {"bank_account", "wallet", "debit_card"} <= set(profile["products"])
        ):
            return False
        _, cards = _request(f"{self.backend_url}/v1/customers/me/cards", headers=headers)
        return len(cards["cards"]) == 1 and cards["cards"][0]["status"] == "active"

    def take(self, count: int) -> list[str]:
        """The first ``count`` customers that fit."""
        with ThreadPoolExecutor(8) as lookups:
            while len(self.found) < count and self.next_number <= self.among:
                numbers = range(
                    self.next_number, min(self.next_number + self.BATCH, self.among + 1)
                )
                self.next_number = numbers.stop
                fits = lookups.map(self._fits, numbers)
                self.found += [f"C{n:05d}" for n, fit in zip(numbers, fits, strict=True) if fit]
        if len(self.found) < count:
            raise RuntimeError(
                f"only {len(self.found)} of {self.among} sandbox customers fit; {count} are needed"
            )
        return self.found[:count]


def pick_customers(
    backend_url: str, secret: str, count: int, among: int = SANDBOX_CUSTOMERS
) -> list[str]:
    """The first ``count`` sandbox customers a conversation of PROJECT_SCRIPT fits."""
    return CustomerPool(backend_url, secret, among).take(count)


def customers_to_seed(most_conversations: int) -> int:
    """Sandbox customers enough for this many conversations of PROJECT_SCRIPT at once."""
    return max(SANDBOX_CUSTOMERS, math.ceil(2.5 * most_conversations))


def _reply_text(reply: dict[str, Any]) -> str:
    text = " ".join((reply.get("text") or "").split())
    buttons = [button.get("title", "") for button in reply.get("buttons") or []]
    return text + (f" [buttons: {', '.join(buttons)}]" if buttons else "")


# Who talks: one seat a conversation, {"sender": ..., "headers": {...}}, for a count of them.
Seats = Callable[[int], list[dict[str, Any]]]


def signed_in_seats(pool: CustomerPool, signing_secret: str) -> Seats:
    def seats(count: int) -> list[dict[str, Any]]:
        return [
            {
                "sender": "bench",
                "headers": {
                    "Authorization": "Bearer "
                    + issue_sign_in_token(customer, signing_secret.encode())
                },
            }
            for customer in pool.take(count)
        ]

    return seats


def anonymous_seats(count: int) -> list[dict[str, Any]]:
    return [{"sender": f"bench-{seat}"} for seat in range(count)]


class Target:
    """One assistant under load: where to send, who talks, what they say."""

    def __init__(
        self,
        name: str,
        url: str,
        path: str,
        seats: Seats,
        script: list[str],
        fresh_sender: bool,
        must_answer: bool = True,
    ) -> None:
        self.name, self.url, self.path, self.seats = name, url, path, seats
        self.script, self.fresh_sender = script, fresh_sender
        # A smoke run's one-epoch stock model may well say nothing; a real model must answer.
        self.must_answer = must_answer

    @property
    def stem(self) -> str:
        return self.name.replace(", ", "-")

    def converse_once(self) -> list[tuple[str, str]]:
        """One whole scripted conversation (a warm-up); returns what was said and answered."""
        seat = self.seats(1)[0]
        sender = f"{seat['sender']}-warm-up" if self.fresh_sender else seat["sender"]
        transcript = []
        for message in self.script:
            status, replies = _request(
                f"{self.url}{self.path}",
                {"sender": sender, "message": message},
                seat.get("headers"),
            )
            if status != 200 or not isinstance(replies, list):
                raise RuntimeError(f"{self.name}: {message!r} got HTTP {status}")
            transcript.append((message, " / ".join(map(_reply_text, replies)) or "(no reply)"))
        if self.must_answer and all(reply == "(no reply)" for _, reply in transcript):
            raise RuntimeError(
                f"{self.name} answered nothing in a whole conversation: "
                f"is its model loaded? (logs in {WORK_DIR})"
            )
        return transcript

    def _plan(self, stem: str, count: int) -> dict[str, Any]:
        seats = self.seats(count)
        if self.fresh_sender:
            # Senders of their own at each level and step, so none continues an earlier one.
            seats = [{**seat, "sender": f"{stem}-{seat['sender']}"} for seat in seats]
        return {
            "host": self.url,
            "path": self.path,
            "conversations": seats,
            "script": self.script,
            "fresh_sender": self.fresh_sender,
        }

    def load(self, concurrency: int, seconds: float, messages: int, work: Path) -> dict:
        """Closed loop: ``concurrency`` conversations, each message sent when the last is
        answered (bench/loadgen.py)."""
        stem = f"{self.stem}-{concurrency}"
        plan = {
            **self._plan(stem, concurrency),
            "concurrency": concurrency,
            "seconds": seconds,
            "messages": messages,
        }
        return _generate("bench.loadgen", plan, stem, seconds, work)

    def pace(self, customers: int, seconds: float, think: tuple[float, float], work: Path) -> dict:
        """Paced: ``customers`` people, each waiting ``think`` seconds (a uniform range)
        between messages (bench/latency_paced.py)."""
        stem = f"{self.stem}-paced-{customers}"
        plan = {
            **self._plan(stem, customers),
            "customers": customers,
            "seconds": seconds,
            "think_seconds": list(think),
        }
        return _generate("bench.latency_paced", plan, stem, seconds, work)


def _generate(module: str, plan: dict[str, Any], stem: str, seconds: float, work: Path) -> dict:
    """Runs a load generator in a process of its own (Locust patches the standard library)."""
    plan_path, result_path = work / f"{stem}-plan.json", work / f"{stem}-result.json"
    plan_path.write_text(json.dumps(plan))
    log_path = work / "logs" / f"loadgen-{stem}.log"
    meter = CpuMeter().start()
    with log_path.open("w") as log:
        result = subprocess.run(
            [sys.executable, "-m", module, str(plan_path), str(result_path)],
            cwd=PROJECT_ROOT,
            env=process_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=seconds + LOADGEN_GRACE_SECONDS,
        )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{log_tail(log_path)}")
    return {
        **json.loads(result_path.read_text()),
        "other_work_cpu_percent": meter.other_work_percent(),
    }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ranked = sorted(values)
    return ranked[max(0, min(len(ranked), math.ceil(fraction * len(ranked))) - 1)]


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    latencies = raw["latencies_ms"]
    summary = {
        "messages": len(latencies),
        "failures": raw["failures"],
        "seconds": raw["seconds"],
        "per_second": len(latencies) / raw["seconds"] if raw["seconds"] else 0.0,
        "load_generator_cpu_percent": raw["load_generator_cpu_percent"],
        "other_work_cpu_percent": raw.get("other_work_cpu_percent"),
        "failure_samples": raw["failure_samples"],
    }
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        summary[name] = percentile(latencies, fraction) if latencies else None
    if "sent_per_customer" in raw:
        sent = raw["sent_per_customer"]
        summary["sent_min"], summary["sent_median"] = min(sent), statistics.median(sent)
    return summary


def stock_server(stock: StockAssistant, port: int, log_dir: Path) -> Server:
    command = [
        sys.executable,
        "-m",
        "rasa",
        "run",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(stock.model),
        "--credentials",
        str(stock.credentials),
        "--endpoints",
        str(stock.endpoints),
    ]
    return Server(
        "stock-rasa", command, f"http://127.0.0.1:{port}/", process_environment(), log_dir
    )


def server_errors(servers: list[Server]) -> list[str]:
    return [
        f"{server.name}: {line}"
        for server in servers
        if server.log_path.exists()
        for line in server.log_path.read_text(errors="replace").splitlines()
        if " ERROR " in line or line.startswith("Traceback")
    ]


# --- The paced ramp -------------------------------------------------------------------------


def step_verdict(summary: dict[str, Any]) -> str:
    """'served' when the step's p99 stayed under the limit with no message failed; otherwise
    what stopped the ramp."""
    if summary["load_generator_cpu_percent"] >= GENERATOR_CPU_LIMIT_PERCENT:
        return "load generator near a full core"
    if summary["failures"]:
        return f"{summary['failures']} failed"
    if summary["p99"] is None or summary["p99"] >= P99_LIMIT_MS:
        return "p99 of a second or more"
    return "served"


def ramp(steps: list[int], served: Callable[[int], bool], refine: bool) -> int:
    """Tries the steps in order until one is not served, then (with ``refine``) the number
    halfway between it and the last served one; returns the largest number served (0 if
    none was)."""
    largest = 0
    for customers in steps:
        if not served(customers):
            halfway = (largest + customers) // 2
            if refine and largest < halfway < customers and served(halfway):
                largest = halfway
            return largest
        largest = customers
    return largest


def ramp_target(target: Target, settings: dict[str, Any], work: Path, record: Recorder) -> int:
    """The target's paced ramp (see ``ramp``), each step's row recorded as it ends; returns
    the largest number of customers served."""

    def served(customers: int) -> bool:
        print(f"{target.name}: {customers} paced customers", flush=True)
        raw = target.pace(customers, settings["step_seconds"], settings["think"], work)
        summary = summarise(raw)
        summary["verdict"] = step_verdict(summary)
        record.paced_rows.append({"customers": customers, "assistant": target.name, **summary})
        record.write()
        print(
            f"  {summary['messages']} messages, p99 {summary['p99']} ms, "
            f"{summary['failures']} failed: {summary['verdict']}",
            flush=True,
        )
        time.sleep(1)
        return summary["verdict"] == "served"

    return ramp(settings["steps"], served, settings["refine"])


# --- Rendering ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None else "-"


def _percent(value: float | None) -> str:
    return f"{value:.0f}%" if value is not None else "-"


SMOKE_NOTE = (
    "**Smoke run**: a few seconds per level and a stock assistant trained with one epoch per "
    "model. It checks that the harness works; its figures mean nothing.\n"
)
OTHER_WORK_NOTE = (
    "The column \"other work's CPU\" is the machine's CPU that processes other than this "
    "run's took meanwhile (all cores = 100%): the machine is shared, and a figure measured "
    "beside other work is low. For the scale-out profile it includes this machine's "
    "PostgreSQL, Redis and RabbitMQ, which serve the profile but are not the run's processes."
)


def render_closed(rows: list[dict[str, Any]], settings: dict[str, Any], smoke: bool) -> str:
    parts = [SMOKE_NOTE] if smoke else []
    parts.append(f"""### Per message, over the REST channel, on loopback

Each level: up to {settings["seconds"]} s or {settings["messages"]} answered messages per \
assistant, whichever comes first; every conversation sends its next message as soon as the \
last is answered. Load generator: Locust (FastHttpUser, as a library), on the same machine. \
{OTHER_WORK_NOTE}

| open conversations | assistant | messages answered | failed | p50 | p95 | p99 \
| messages/s | load generator CPU | other work's CPU |
|---|---|---|---|---|---|---|---|---|---|""")
    for row in rows:
        parts.append(
            f"| {row['concurrency']} | {row['assistant']} | {row['messages']} | "
            f"{row['failures']} | {_ms(row['p50'])} | {_ms(row['p95'])} | "
            f"{_ms(row['p99'])} | {row['per_second']:.1f} | "
            f"{row['load_generator_cpu_percent']:.0f}% of a core | "
            f"{_percent(row['other_work_cpu_percent'])} |"
        )
    failures = sorted({sample for row in rows for sample in row["failure_samples"]})
    if failures:
        parts.append("\nFailures seen: " + "; ".join(f"`{f}`" for f in failures[:5]))
    return "\n".join(parts)


# Rasa's own load test, as its documentation for Rasa Open Source 3.x states it.
RASA_LOAD_TEST_URL = "https://legacy-docs-oss.rasa.com/docs/rasa/monitoring/load-testing-guidelines"
RASA_PRO_LOAD_TEST_URL = "https://rasa.com/docs/rasa-pro/production/load-testing-guidelines"
RASA_USERS, RASA_VCPUS = 50_000, 6


def render_paced(
    rows: list[dict[str, Any]], largest: dict[str, int], settings: dict[str, Any], smoke: bool
) -> str:
    low, high = settings["think"]
    mean_think = (low + high) / 2
    refinement = (
        "the number halfway below it is tried once" if settings["refine"] else "goes no further"
    )
    parts = [SMOKE_NOTE] if smoke else []
    parts.append(f"""### Each step

Each simulated customer holds one conversation and, after each answer, waits a uniform \
{low:g}-{high:g} s before the next message (mean {mean_think:g} s), as a person reading \
and typing does; every customer is there from the start, each caught at a random moment of a \
pause, so the messages come at their steady rate from the first second. A step lasts \
{settings["step_seconds"]:g} s, long enough for every customer to send several messages \
(the fewest and the median sent by one customer are in the table); every message sent within \
it counts, those still unanswered at its end waited for. A step is served when its p99 stays \
under {P99_LIMIT_MS / 1000:g} s and no message fails; an assistant's ramp stops at the first \
step that is not (or where the load generator nears a full core and could no longer time \
fairly), and {refinement}. \
Steps: {", ".join(map(str, settings["steps"]))} customers. The servers stay up from step to \
step; each of the project's customers is a different signed-in customer. {OTHER_WORK_NOTE}

| customers | assistant | messages answered | failed | p50 | p95 | p99 | messages/s \
| sent per customer (fewest / median) | load generator CPU | other work's CPU | step |
|---|---|---|---|---|---|---|---|---|---|---|---|""")
    for row in rows:
        parts.append(
            f"| {row['customers']} | {row['assistant']} | {row['messages']} | "
            f"{row['failures']} | {_ms(row['p50'])} | {_ms(row['p95'])} | {_ms(row['p99'])} | "
            f"{row['per_second']:.1f} | {row['sent_min']} / {row['sent_median']:g} | "
            f"{row['load_generator_cpu_percent']:.0f}% of a core | "
            f"{_percent(row['other_work_cpu_percent'])} | {row['verdict']} |"
        )
    failures = sorted({sample for row in rows for sample in row["failure_samples"]})
    if failures:
        parts.append("\nFailures seen: " + "; ".join(f"`{f}`" for f in failures[:5]))
    parts.append(f"""
### The largest number served with p99 under {P99_LIMIT_MS / 1000:g} s, beside Rasa's load test

| assistant | customers served | their messages/s | p99 | the next number tried | cores |
|---|---|---|---|---|---|""")
    for name in dict.fromkeys(row["assistant"] for row in rows):
        tried = [row for row in rows if row["assistant"] == name]
        # A ramp still going (a partial record) shows the most served so far.
        number = largest.get(name)
        if number is None:
            served = [row["customers"] for row in tried if row["verdict"] == "served"]
            number = max(served, default=0)
        at = next((row for row in tried if row["customers"] == number), None)
        beyond = min(
            (row for row in tried if row["verdict"] != "served"),
            key=lambda row: row["customers"],
            default=None,
        )
        if beyond:
            next_tried = f"{beyond['customers']}: {beyond['verdict']} (p99 {_ms(beyond['p99'])})"
        elif name in largest:
            next_tried = "none: every step was served"
        else:
            next_tried = "the ramp had not finished"
        more = "" if beyond else " or more"
        served_at = f"{at['per_second']:.1f} | {_ms(at['p99'])}" if at else "- | -"
        parts.append(
            f"| {name} | {number}{more} | {served_at} | {next_tried} | "
            f"{settings['cores']} (this machine) |"
        )
    parts.append(
        f"| Rasa's published load test | up to {RASA_USERS:,} concurrent users | not stated | "
        f"not stated | | {RASA_VCPUS} vCPU, 16 GB |"
    )
    scaled = (
        f"; stock's {largest[STOCK]} here, scaled from {settings['cores']} cores to "
        f"{RASA_VCPUS}, would be {largest[STOCK] * RASA_VCPUS // int(settings['cores']):,}"
        if largest.get(STOCK)
        else ""
    )
    parts.append(f"""
Rasa's figure is from its load-testing guidelines ({RASA_LOAD_TEST_URL}; the same table in \
Rasa Pro's, {RASA_PRO_LOAD_TEST_URL}): up to {RASA_USERS:,} concurrent users on \
{RASA_VCPUS} vCPU and 16 GB (up to 80,000 at almost 90% CPU), spawned at 1,000 users a \
second with Locust against Rasa's HTTP API. The page does not say which assistant it loaded, \
how often a user sent a message, nor what latency counted as served, so the two figures are \
not measured alike. At this run's pace ({low:g}-{high:g} s between messages), \
{RASA_USERS:,} customers would send about {RASA_USERS / mean_think:,.0f} messages a \
second{scaled}.""")
    return "\n".join(parts)


def balancer_outages(profile: ScaleOut) -> list[str]:
    """What HAProxy's log says of Rasa servers it took out during the run, if any."""
    log = profile.balancer.log_path
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    taken_out = sum(
        1 for line in lines if line.startswith("Server rasa_servers/") and "DOWN" in line
    )
    if not taken_out:
        return []
    none_left = sum(1 for line in lines if line == "backend rasa_servers has no server available!")
    refused = sum(1 for line in lines if "<NOSRV>" in line and " 503 " in line)

    def times(count: int) -> str:
        return "once" if count == 1 else f"{count} times"

    return [
        f"  - The balancer took a Rasa server out {times(taken_out)} during the run: its health "
        f"check (`GET /`, answered within {HEALTH_CHECK_TIMEOUT_SECONDS} s) failed three times "
        "in a row while the server was busy with messages. It had no Rasa server left "
        f"{times(none_left)}, and answered {refused} requests itself with HTTP 503 (no server "
        "to send them to); the failed column shows at which level."
    ]


def render_assistants(
    targets: list[Target],
    settings: dict[str, Any],
    stock: StockAssistant,
    profile: ScaleOut | None,
    environment: dict[str, str] | None,
    errors: list[str],
    transcripts: dict[str, list[tuple[str, str]]],
) -> str:
    stock_note = (
        f"trained by this run in {stock.training_seconds:.0f} s"
        if stock.training_seconds is not None
        else "trained earlier, reused by fingerprint"
    )
    parts = [
        "### The assistants\n",
        f"- {PROJECT}: the assistant's current model ({settings['project_model']}), sandbox "
        f"back end with {settings['sandbox_customers']} synthetic customers, action server, "
        "Rasa server; embedded profile (SQLite tracker store and event broker, in-memory lock "
        "store). Each open conversation is a different signed-in customer on "
        "`/webhooks/signed_rest/webhook`.",
    ]
    if profile is not None and environment is not None:
        scale = ScaleOutSettings.read(Environment(environment))
        parts.append(
            f"- {SCALE_OUT}: the same model and code in the scale-out profile "
            f"(tooling/scale_out.py, as `scripts/scale-out` starts it): "
            f"{len(profile.rasa_servers)} Rasa servers of one Sanic worker each and "
            f"{len(profile.action_servers)} action servers of {scale.action_server_workers} "
            "workers each behind HAProxy (REST round robin), PostgreSQL tracker store, Redis "
            "lock store, RabbitMQ event broker read by the analytics service, the sandbox and "
            "the desk on PostgreSQL; databases, virtual host and lock keys of the run's own. "
            "Its servers share the same cores: the profile shows what several servers cost or "
            "gain on one machine, not what more machines give."
        )
        parts += balancer_outages(profile)
    parts += [
        f"- {STOCK}: `rasa init --no-prompt` as it comes (Rasa's default pipeline and "
        "policies, in-memory tracker store, no action server), on `/webhooks/rest/webhook`; "
        f"{stock_note}. Each run of its script is a new sender.",
        "- The channels' per-customer and per-address rate limits are lifted for the run: its "
        "customers write from one address, and in the closed loop as fast as they are answered.",
        "- All servers, and the load generator, share the machine's cores; the assistants are "
        "loaded one after the other.",
        f"- Errors in the servers' logs during the run: {len(errors)}.",
    ]
    parts += [f"  - `{line[:200]}`" for line in errors[:5]]
    for target in targets:
        parts.append(f"\nA warm-up conversation with {target.name} (before timing):\n")
        parts += [f"- `{message}` -> {reply[:160]}" for message, reply in transcripts[target.name]]
    return "\n".join(parts)


# --- The servers ----------------------------------------------------------------------------


def project_target(
    name: str, url: str, backend_url: str, service_secret: str, signing_secret: str, among: int
) -> Target:
    pool = CustomerPool(backend_url, service_secret, among)
    return Target(
        name,
        url,
        "/webhooks/signed_rest/webhook",
        signed_in_seats(pool, signing_secret),
        PROJECT_SCRIPT,
        fresh_sender=False,
    )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny levels and steps: checks the harness"
    )
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="also the scale-out profile, at 10, 50 and 200 open conversations",
    )
    parser.add_argument(
        "--paced",
        action="store_true",
        help="customers paced as people type, in steps, instead of the closed-loop levels",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="*",
        default=None,
        help=f"open conversations per closed-loop level (default {FULL['concurrency']}, "
        f"{FULL_SCALE_OUT['concurrency']} with --scale-out, none with --paced)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"time bound per level and assistant (default {FULL['seconds']})",
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=None,
        help=f"answered-message bound per level and assistant (default {FULL['messages']})",
    )
    parser.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=None,
        help=f"paced customers per step (default {FULL_PACED['steps']})",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=None,
        help=f"length of a paced step (default {FULL_PACED['step_seconds']})",
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=None,
        help="seconds a paced customer waits between messages, uniform (default 5 30)",
    )
    parser.add_argument(
        "--no-refine",
        action="store_true",
        help="stop a paced ramp at its first step not served, without trying halfway below",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default bench/results/latency[-smoke].md)",
    )
    return parser.parse_args()


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.scale_out:
        closed = SMOKE_SCALE_OUT if args.smoke else FULL_SCALE_OUT
    else:
        closed = SMOKE if args.smoke else FULL
    paced = SMOKE_PACED if args.smoke else FULL_PACED
    settings = {
        "concurrency": args.concurrency
        if args.concurrency is not None
        else ([] if args.paced else closed["concurrency"]),
        "seconds": args.seconds or closed["seconds"],
        "messages": args.messages or closed["messages"],
        "steps": (args.steps or paced["steps"]) if args.paced else [],
        "step_seconds": args.step_seconds or paced["step_seconds"],
        "think": tuple(args.think or paced["think"]),
        "refine": not (args.no_refine or args.smoke),
        "cores": str(os.cpu_count()),
    }
    settings["sandbox_customers"] = customers_to_seed(
        max([*settings["concurrency"], *settings["steps"], 1])
    )
    return settings


PARTIAL_NOTE = (
    "**Partial**: written after the last row below, while the run went on; it did not finish "
    "(stopped, or out of time), so the rows after it are missing.\n"
)


class Recorder:
    """The run's figures so far, written to its sections after every level and step: a run
    stopped early (out of time, Ctrl-C) keeps what it measured, marked as partial."""

    def __init__(
        self,
        args: argparse.Namespace,
        settings: dict[str, Any],
        stock: StockAssistant,
        out: Path,
        made: dict[str, str],
    ) -> None:
        self.args, self.settings, self.stock, self.out, self.made = args, settings, stock, out, made
        # The machine's load before anything of the run starts is other work's.
        self.load_before = load_average()
        self.closed_rows: list[dict[str, Any]] = []
        self.paced_rows: list[dict[str, Any]] = []
        self.largest: dict[str, int] = {}
        self.transcripts: dict[str, list[tuple[str, str]]] = {}
        self.targets: list[Target] = []
        self.servers: list[Server] = []
        self.profile: ScaleOut | None = None
        self.scale_environment: dict[str, str] | None = None
        self.closed_finished = False

    def write(self, finished: bool = False) -> None:
        logged = self.servers + (self.profile.servers() if self.profile is not None else [])
        assistants = render_assistants(
            self.targets,
            self.settings,
            self.stock,
            self.profile,
            self.scale_environment,
            server_errors(logged),
            self.transcripts,
        )
        sections = []
        if self.closed_rows:
            key = "scale-out" if self.args.scale_out else "closed"
            closed = render_closed(self.closed_rows, self.settings, self.args.smoke)
            sections.append((key, closed, self.closed_finished))
        if self.paced_rows:
            paced = render_paced(self.paced_rows, self.largest, self.settings, self.args.smoke)
            sections.append(("paced", paced, finished))
        for key, table, complete in sections:
            body = f"{'' if complete or finished else PARTIAL_NOTE}{table}\n\n{assistants}"
            write_section(self.out, key, body, self.made, self.load_before, load_average())


def main() -> None:
    args = parse_arguments()
    settings = run_settings(args)
    out = args.out or RESULTS_DIR / f"latency{'-smoke' if args.smoke else ''}.md"
    # Stopped by a signal, the run still stops its servers and keeps what it measured.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"stopped; figures so far in {out}"))

    # The code that ran is the code at the start, whatever is edited while the run goes on.
    made = provenance_fields()
    model = ensure_model()
    stock = ensure_stock_assistant(smoke=args.smoke)
    record = Recorder(args, settings, stock, out, made)
    settings["project_model"] = model.name
    # A directory of the run's own: runs at once (a smoke test beside a full run) would
    # otherwise delete each other's files.
    work = WORK_DIR / f"{'smoke' if args.smoke else 'full'}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)

    rasa_port, action_port, sandbox_port, stock_port = (free_port() for _ in range(4))
    environment = project_environment(
        work, action_port, sandbox_port, settings["sandbox_customers"]
    )
    record.servers = [
        sandbox_server(sandbox_port, environment),
        action_server(action_port, environment),
        rasa_server(model, rasa_port, environment),
        stock_server(stock, stock_port, work / "logs"),
    ]
    for server in record.servers:
        server.log_dir = work / "logs"
    with ExitStack() as running:
        running.callback(stop_all, record.servers)
        print("starting the servers", flush=True)
        for server in record.servers:
            server.start()
        if args.scale_out:
            # Imported here: the fault benchmarks it shares code with import this module.
            from bench.latency_scale_out import running_profile

            # Started while the others load their models; its own start waits for it.
            record.profile, record.scale_environment = running.enter_context(
                running_profile(
                    model, work / "scale-out", settings["sandbox_customers"], LIFTED_LIMITS
                )
            )
        for server in record.servers:
            server.wait_until_ready()
        record.targets = [
            project_target(
                PROJECT,
                f"http://127.0.0.1:{rasa_port}",
                environment["BACKEND_URL"],
                environment["SANDBOX_SERVICE_SECRET"],
                DEV_SIGNING_SECRET,
                settings["sandbox_customers"],
            )
        ]
        if record.scale_environment is not None:
            record.targets.append(
                project_target(
                    SCALE_OUT,
                    record.scale_environment["RASA_URL"],
                    record.scale_environment["BACKEND_URL"],
                    record.scale_environment["SANDBOX_SERVICE_SECRET"],
                    record.scale_environment["CHANNEL_SIGNING_SECRET"],
                    settings["sandbox_customers"],
                )
            )
        record.targets.append(
            Target(
                STOCK,
                f"http://127.0.0.1:{stock_port}",
                "/webhooks/rest/webhook",
                anonymous_seats,
                STOCK_SCRIPT,
                fresh_sender=True,
                must_answer=not args.smoke,
            )
        )
        for target in record.targets:
            record.transcripts[target.name] = target.converse_once()
        for concurrency in settings["concurrency"]:
            for target in record.targets:
                print(f"{target.name}: {concurrency} open conversation(s)", flush=True)
                summary = summarise(
                    target.load(concurrency, settings["seconds"], settings["messages"], work)
                )
                record.closed_rows.append(
                    {"concurrency": concurrency, "assistant": target.name, **summary}
                )
                record.write()
                print(
                    f"  {summary['messages']} messages, {summary['per_second']:.1f}/s, "
                    f"p50 {summary['p50']} ms, {summary['failures']} failed",
                    flush=True,
                )
                time.sleep(1)
        record.closed_finished = True
        # The scale-out profile's ramp last: the embedded profile's and stock's are the pair
        # the question needs, the scale-out's is extra when time allows.
        ramps = sorted(record.targets, key=lambda target: target.name == SCALE_OUT)
        for target in ramps if settings["steps"] else []:
            record.largest[target.name] = ramp_target(target, settings, work, record)
    record.write(finished=True)
    (work / "rows.json").write_text(json.dumps(record.closed_rows + record.paced_rows, indent=2))
    print(out.read_text())
    if args.smoke:
        # A smoke run's logs matter only when it fails; a full run keeps them with its rows.
        shutil.rmtree(work)
    else:
        print(f"logs and the figures behind the tables: {work}")


if __name__ == "__main__":
    main()
