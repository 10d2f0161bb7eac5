"""Proactive guesses on held-out customers, beside three baselines: bench/results/proactive.md.

    .venv/bin/python -m bench.proactive [--smoke] [--customers N] [--out PATH]

Generates the sandbox customers' histories (services/sandbox/asking.py, fixed seed and reference
date), trains the proactive model on some customers (proactive.train), chooses its offer
threshold on others and reports top-1 and top-3 hit rates and coverage on the rest, with the
most popular questions, the question tied to the newest event and a rule list beside it. The
full run writes the model to the model cache (models/proactive.joblib); --smoke (400 customers,
a small model) writes bench/results/proactive-smoke.md and keeps its model in .cache/.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR, provenance_fields, write_results
from common.environment import PROJECT_ROOT
from proactive.history import histories_from
from proactive.model import MODEL_PATH
from proactive.train import (
    BURN_IN,
    DEFAULT_HISTORIES,
    TARGET_PRECISION,
    TEST_SHARE,
    VALIDATION_SHARE,
    Outcome,
    coverage_table,
    figures_table,
    percent,
    train_and_evaluate,
)
from services.sandbox.asking import HISTORY_DAYS, generate_histories, write_histories

REFERENCE_DATE = date(2025, 3, 14)
SEED = 42
SMOKE_CACHE = PROJECT_ROOT / ".cache" / "proactive"


@dataclass(frozen=True)
class Size:
    customers: int
    iterations: int


FULL = Size(customers=2000, iterations=100)
SMOKE = Size(customers=400, iterations=100)


def behaviour(lines: list[dict[str, Any]]) -> str:
    """How noisy the generated asking is: why sessions happened, how many events were asked
    about. The model never sees these causes."""
    causes = Counter(s["cause"] for line in lines for s in line["sessions"])
    sessions = sum(causes.values())
    events = sum(len(line["events"]) for line in lines)
    asked = {
        (line["customer_id"], s["event_id"])
        for line in lines
        for s in line["sessions"]
        if s["cause"] == "event"
    }
    return (
        f"{len(lines)} customers, {events} back-end events, {sessions} sessions over "
        f"{HISTORY_DAYS} days: {percent(causes['unprompted'] / sessions)} unprompted (general "
        f"demand and the customer's own taste), {percent(causes['event'] / sessions)} about an "
        f"event (after a delay), {percent(causes['repeat'] / sessions)} repeats of an earlier "
        f"question; {percent(1 - len(asked) / events)} of events never asked about."
    )


def margins(outcome: Outcome) -> str:
    """The model against the best baseline on each hit rate."""
    model = outcome.test["model"]
    baselines = {name: result for name, result in outcome.test.items() if name != "model"}
    said = []
    for label, rate in (("top-1", lambda f: f.top1), ("top-3", lambda f: f.top3)):
        best = max(baselines, key=lambda name: rate(baselines[name]))
        points = 100 * (rate(model) - rate(baselines[best]))
        said.append(f"{label} {points:+.1f} points against the best baseline ({best})")
    return "The model: " + "; ".join(said) + "."


CAUSES = {
    "unprompted": "unprompted (no event behind it)",
    "event": "about an event",
    "repeat": "a repeat of an earlier question",
}


def by_cause(outcome: Outcome, lines: list[dict[str, Any]]) -> str:
    """Top-1 on the test sessions by why the generator made them (the model never sees why)."""
    cause = {
        (line["customer_id"], session["opened_at"]): session["cause"]
        for line in lines
        for session in line["sessions"]
    }
    causes = [
        cause[(customer, opened.isoformat(timespec="seconds"))]
        for customer, opened, _ in outcome.test_sessions
    ]
    methods = list(outcome.guesses)
    rows = [
        "| session | sessions | " + " | ".join(f"{m} top-1" for m in methods) + " |",
        "| --- | --- | " + " | ".join("---" for _ in methods) + " |",
    ]
    for key, label in CAUSES.items():
        chosen = [i for i, c in enumerate(causes) if c == key]
        if not chosen:
            continue
        hits = [
            percent(
                sum(outcome.guesses[m][i].ranking[0] == outcome.test_sessions[i][2] for i in chosen)
                / len(chosen)
            )
            for m in methods
        ]
        rows.append(f"| {label} | {len(chosen)} | " + " | ".join(hits) + " |")
    return "\n".join(rows)


def report(outcome: Outcome, lines: list[dict[str, Any]], size: Size, smoke: bool) -> str:
    customers, sessions = outcome.customers, outcome.sessions
    model = outcome.model
    return f"""
{"Smoke run: too small to judge the model by; checks the harness only." if smoke else ""}

## Data

Synthetic sandbox customers (seed {SEED}, reference date {REFERENCE_DATE.isoformat()}),
their asking behaviour generated as services/sandbox/README.md describes:
{behaviour(lines)}

Split by customer (no customer on two sides): {customers["training"]} training customers
({sessions["training"]} sessions), {customers["validation"]} validation ({sessions["validation"]}),
{customers["test"]} test ({sessions["test"]}); a test share of {percent(TEST_SHARE)}, validation
{percent(VALIDATION_SHARE)} of the rest. Sessions in a customer's first {BURN_IN.days} days of
history only serve as their past.

## Model

Gradient-boosted trees ({size.iterations} iterations) over (session, candidate question) pairs of
{len(model.questions)} questions, with a logistic-regression prior from the profile; trained in
{outcome.training_seconds:.1f} s. Offers the three likeliest questions when together they reach
the threshold **{model.threshold:.2f}**, chosen on the validation customers as the lowest whose
offers are right at least {percent(TARGET_PRECISION)} of the time (validation:
{percent(outcome.validation.offered)} of sessions offered something,
{percent(outcome.validation.right_when_offered)} right).

## Test customers

{figures_table(outcome)}

{margins(outcome)}

By why the session happened (the generator's cause, which the model never sees):

{by_cause(outcome, lines)}

The model's coverage at other precision targets (each threshold chosen on the validation
customers, figures on the test ones):

{coverage_table(outcome)}

- top-1 / top-3: the question the customer came with is the first / among the first three guessed.
- sessions offered something: the model above its threshold; the most popular list always;
  the newest event's question whenever an event of the last 30 days exists; the rule list when
  a rule fires. Offer right: of those sessions, the question asked was among the (at most
  three) offered. Sessions served: right offers over all sessions.
- baselines: the three questions most asked in training; the questions tied to the newest
  events (a designer's table, one per event kind), newest first; a rule list (urgent events
  first, each within its time, then the customer's last question). Both fill their top three
  with the popular questions.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="400 customers, a small model")
    parser.add_argument("--customers", type=int, help="customers to generate")
    parser.add_argument(
        "--out", type=Path, help="results file (default bench/results/proactive.md)"
    )
    parser.add_argument("--model", type=Path, help="where the model goes")
    arguments = parser.parse_args()
    made = provenance_fields()
    size = SMOKE if arguments.smoke else FULL
    if arguments.customers:
        size = Size(arguments.customers, size.iterations)
    lines = generate_histories(size.customers, SEED, REFERENCE_DATE)
    histories_path = SMOKE_CACHE / "histories-smoke.jsonl" if arguments.smoke else DEFAULT_HISTORIES
    write_histories(histories_path, lines)
    outcome = train_and_evaluate(histories_from(lines), seed=SEED, iterations=size.iterations)
    model_path = arguments.model or (
        SMOKE_CACHE / "proactive-smoke.joblib" if arguments.smoke else MODEL_PATH
    )
    outcome.model.save(model_path)
    out = arguments.out or (RESULTS_DIR / "proactive-smoke.md" if arguments.smoke else None)
    path = write_results(
        "proactive",
        "Proactive service: guessing the question before it is asked",
        report(outcome, lines, size, arguments.smoke),
        path=out,
        made=made,
    )
    print(f"{figures_table(outcome)}\n\nresults: {path}\nmodel: {model_path}")


if __name__ == "__main__":
    main()
