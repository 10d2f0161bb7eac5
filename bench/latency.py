"""Latency and throughput of the running assistant over REST, beside the stock `rasa init` one.

Starts, on loopback and free ports, the project's assistant as it runs (back-end sandbox, action
server, Rasa server; embedded profile) and the stock assistant that `rasa init --no-prompt`
creates (bench/stock_assistant.py; its own REST channel and in-memory tracker store). Locust,
used as a library in a process of its own (bench/loadgen.py), then holds 1, 10 and 50
conversations open on each, one assistant after the other at each level:

- project: signed-in synthetic customers over the signed REST channel; each conversation opens a
  session and asks for the bank balance, why a card was declined and the recent wallet
  payments (custom actions calling the sandbox), starts freezing the card (a form that asks
  for confirmation) and says no;
- stock: anonymous REST conversations of its own intents (greet, mood, affirm, bot challenge,
  goodbye).

Each level runs until --seconds or --messages (answered messages per assistant), whichever
comes first. Per-message latency (p50, p95, p99) and messages per second at each level are
written to bench/results/latency.md (--smoke: bench/results/latency-smoke.md, or --out).

    .venv/bin/python -m bench.latency [--smoke] [--concurrency 1 10 50] [--seconds N]
        [--messages N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR, provenance_fields, write_results
from bench.stock_assistant import StockAssistant, ensure_stock_assistant
from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET, PROJECT_ROOT, process_environment
from common.ports import free_port
from tooling.model_cache import ensure_model
from tooling.processes import Server, action_server, rasa_server, sandbox_server, stop_all
from tooling.rasa_cli import log_tail

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "latency"
# Enough seeded customers for 50 conversations of customers with a bank account, a wallet and
# exactly one debit card, which is active (so "freeze my card" goes straight to confirming).
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
SMOKE = {"concurrency": [1, 2], "seconds": 6, "messages": 40}
# A load level that does not end by itself within its bound plus this is stopped.
LOADGEN_GRACE_SECONDS = 180


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


def pick_customers(backend_url: str, secret: str, count: int) -> list[str]:
    """Unlocked customers with a bank account, a wallet and one debit card, which is active."""
    chosen = []
    for number in range(1, SANDBOX_CUSTOMERS + 1):
        customer = f"C{number:05d}"
        headers = {"Authorization": f"Bearer {secret}", "X-Customer-Id": customer}
        _, profile = _request(f"{backend_url}/v1/customers/me", headers=headers)
        if (
            not profile
            or profile["account_locked"]
            or not {"bank_account", "wallet", "debit_card"} <= set(profile["products"])
        ):
            continue
        _, cards = _request(f"{backend_url}/v1/customers/me/cards", headers=headers)
        if len(cards["cards"]) == 1 and cards["cards"][0]["status"] == "active":
            chosen.append(customer)
            if len(chosen) == count:
                return chosen
    raise RuntimeError(
        f"only {len(chosen)} of {SANDBOX_CUSTOMERS} sandbox customers fit; {count} are needed"
    )


def _reply_text(reply: dict[str, Any]) -> str:
    text = " ".join((reply.get("text") or "").split())
    buttons = [button.get("title", "") for button in reply.get("buttons") or []]
    return text + (f" [buttons: {', '.join(buttons)}]" if buttons else "")


class Target:
    """One assistant under load: where to send, who talks, what they say."""

    def __init__(
        self,
        name: str,
        url: str,
        path: str,
        conversations: list[dict[str, Any]],
        script: list[str],
        fresh_sender: bool,
        must_answer: bool = True,
    ) -> None:
        self.name, self.url, self.path = name, url, path
        self.conversations, self.script, self.fresh_sender = conversations, script, fresh_sender
        # A smoke run's one-epoch stock model may well say nothing; a real model must answer.
        self.must_answer = must_answer

    def converse_once(self) -> list[tuple[str, str]]:
        """One whole scripted conversation (a warm-up); returns what was said and answered."""
        seat = self.conversations[0]
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

    def load(self, concurrency: int, seconds: float, messages: int, work: Path) -> dict:
        plan = {
            "host": self.url,
            "path": self.path,
            "conversations": self.conversations,
            "script": self.script,
            "fresh_sender": self.fresh_sender,
            "concurrency": concurrency,
            "seconds": seconds,
            "messages": messages,
        }
        stem = f"{self.name}-{concurrency}"
        (work / f"{stem}-plan.json").write_text(json.dumps(plan))
        log_path = work / "logs" / f"loadgen-{stem}.log"
        with log_path.open("w") as log:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.loadgen",
                    str(work / f"{stem}-plan.json"),
                    str(work / f"{stem}-result.json"),
                ],
                cwd=PROJECT_ROOT,
                env=process_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=seconds + LOADGEN_GRACE_SECONDS,
            )
        if result.returncode != 0:
            raise RuntimeError(f"load generator failed:\n{log_tail(log_path)}")
        return json.loads((work / f"{stem}-result.json").read_text())


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
        "failure_samples": raw["failure_samples"],
    }
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        summary[name] = percentile(latencies, fraction) if latencies else None
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


def render(
    rows: list[dict[str, Any]],
    transcripts: dict[str, list[tuple[str, str]]],
    settings: dict[str, Any],
    stock: StockAssistant,
    errors: list[str],
    smoke: bool,
) -> str:
    def ms(value: float | None) -> str:
        return f"{value:.0f} ms" if value is not None else "-"

    parts = []
    if smoke:
        parts.append(
            "**Smoke run**: a few seconds per level and a stock assistant trained "
            "with one epoch per model. It checks that the harness works; its figures "
            "mean nothing.\n"
        )
    parts.append(f"""## Per message, over the REST channel, on loopback

Each level: up to {settings["seconds"]} s or {settings["messages"]} answered messages per \
assistant, whichever comes first; every conversation sends its next message as soon as the \
last is answered. Load generator: Locust (FastHttpUser, as a library), on the same machine.

| open conversations | assistant | messages answered | failed | p50 | p95 | p99 \
| messages/s | load generator CPU |
|---|---|---|---|---|---|---|---|---|""")
    for row in rows:
        parts.append(
            f"| {row['concurrency']} | {row['assistant']} | {row['messages']} | "
            f"{row['failures']} | {ms(row['p50'])} | {ms(row['p95'])} | "
            f"{ms(row['p99'])} | {row['per_second']:.1f} | "
            f"{row['load_generator_cpu_percent']:.0f}% of a core |"
        )
    failures = sorted({sample for row in rows for sample in row["failure_samples"]})
    if failures:
        parts.append("\nFailures seen: " + "; ".join(f"`{f}`" for f in failures[:5]))
    stock_note = (
        f"trained by this run in {stock.training_seconds:.0f} s"
        if stock.training_seconds is not None
        else "trained earlier, reused by fingerprint"
    )
    parts.append(f"""
## The two assistants

- project: the assistant's current model ({settings["project_model"]}), sandbox back end with \
{SANDBOX_CUSTOMERS} synthetic customers, action server, Rasa server; embedded profile (SQLite \
tracker store and event broker, in-memory lock store). Each open conversation is a different \
signed-in customer on `/webhooks/signed_rest/webhook`.
- stock: `rasa init --no-prompt` as it comes (Rasa's default pipeline and policies, in-memory \
tracker store, no action server), on `/webhooks/rest/webhook`; {stock_note}. Each run of its \
script is a new sender.
- All servers, and the load generator, share the machine's cores.
- Errors in the servers' logs during the run: {len(errors)}.""")
    parts += [f"  - `{line[:200]}`" for line in errors[:5]]
    for name, transcript in transcripts.items():
        parts.append(f"\nA warm-up conversation with {name} (before timing):\n")
        parts += [f"- `{message}` -> {reply[:160]}" for message, reply in transcript]
    return "\n".join(parts)


def project_environment(
    work: Path, action_port: int, sandbox_port: int, customers: int, **overrides: str
) -> dict[str, str]:
    """The embedded profile with the run's own ports and files in ``work``, signed-in
    customers, and the per-customer rate limits lifted: a benchmark's customers send as fast as
    they are answered, from one address; a person does not."""
    return process_environment(
        ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook",
        BACKEND_URL=f"http://127.0.0.1:{sandbox_port}",
        SANDBOX_DATABASE_URL=f"sqlite+aiosqlite:///{work / 'sandbox.db'}",
        SANDBOX_CUSTOMERS=str(customers),
        TRACKER_STORE_URL=f"sqlite:///{work / 'tracker.db'}",
        EVENT_BROKER_URL=f"sqlite:///{work / 'events.db'}",
        CHANNEL_SIGNING_SECRET=DEV_SIGNING_SECRET,
        CHANNEL_SENDER_MESSAGES_PER_MINUTE="1000000",
        CHANNEL_ADDRESS_MESSAGES_PER_MINUTE="1000000",
        **overrides,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="levels 1 and 2, a few seconds each: checks the harness",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=None,
        help=f"open conversations per level (default {FULL['concurrency']})",
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
        "--out",
        type=Path,
        default=None,
        help="results file (default bench/results/latency[-smoke].md)",
    )
    args = parser.parse_args()
    defaults = SMOKE if args.smoke else FULL
    settings = {
        key: getattr(args, key) if getattr(args, key) is not None else value
        for key, value in defaults.items()
    }
    out = args.out or RESULTS_DIR / f"latency{'-smoke' if args.smoke else ''}.md"

    # The code that ran is the code at the start, whatever is edited while the run goes on.
    made = provenance_fields()
    model = ensure_model()
    stock = ensure_stock_assistant(smoke=args.smoke)
    settings["project_model"] = model.name
    work = WORK_DIR / ("smoke" if args.smoke else "full")
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)

    rasa_port, action_port, sandbox_port, stock_port = (free_port() for _ in range(4))
    environment = project_environment(work, action_port, sandbox_port, SANDBOX_CUSTOMERS)
    servers = [
        sandbox_server(sandbox_port, environment),
        action_server(action_port, environment),
        rasa_server(model, rasa_port, environment),
        stock_server(stock, stock_port, work / "logs"),
    ]
    for server in servers:
        server.log_dir = work / "logs"
    rows: list[dict[str, Any]] = []
    transcripts: dict[str, list[tuple[str, str]]] = {}
    try:
        print("starting the servers", flush=True)
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_ready()
        customers = pick_customers(
            environment["BACKEND_URL"],
            environment["SANDBOX_SERVICE_SECRET"],
            max(settings["concurrency"]),
        )
        project = Target(
            "project",
            f"http://127.0.0.1:{rasa_port}",
            "/webhooks/signed_rest/webhook",
            [
                {
                    "sender": "bench",
                    "headers": {
                        "Authorization": "Bearer "
                        + issue_sign_in_token(customer, DEV_SIGNING_SECRET.encode())
                    },
                }
                for customer in customers
            ],
            PROJECT_SCRIPT,
            fresh_sender=False,
        )
        stock_target = Target(
            "stock",
            f"http://127.0.0.1:{stock_port}",
            "/webhooks/rest/webhook",
            [{"sender": f"bench-{seat}"} for seat in range(max(settings["concurrency"]))],
            STOCK_SCRIPT,
            fresh_sender=True,
            must_answer=not args.smoke,
        )
        targets = [project, stock_target]
        for target in targets:
            transcripts[target.name] = target.converse_once()
        for concurrency in settings["concurrency"]:
            for target in targets:
                print(f"{target.name}: {concurrency} open conversation(s)", flush=True)
                summary = summarise(
                    target.load(concurrency, settings["seconds"], settings["messages"], work)
                )
                rows.append({"concurrency": concurrency, "assistant": target.name, **summary})
                print(
                    f"  {summary['messages']} messages, {summary['per_second']:.1f}/s, "
                    f"p50 {summary['p50']} ms, {summary['failures']} failed",
                    flush=True,
                )
                time.sleep(1)
    finally:
        stop_all(servers)
    errors = server_errors(servers)
    (work / "rows.json").write_text(json.dumps(rows, indent=2))
    title = "Latency and throughput over REST: the assistant and stock `rasa init`"
    print(
        write_results(
            "latency",
            title,
            render(rows, transcripts, settings, stock, errors, args.smoke),
            out,
            made=made,
        )
    )


if __name__ == "__main__":
    main()
