"""Trains the proactive model and evaluates it on customers held out from training.

    .venv/bin/python -m services.sandbox.asking --customers 2000   # the sandbox's histories
    .venv/bin/python -m proactive.train                            # train, evaluate, save

Reads customers' histories (proactive/history.py's format), splits the customers three ways
(training, validation, test), fits the model on the training customers, chooses the offer
threshold on the validation ones, prints the test customers' figures beside the three
baselines, and writes the model to the model cache (models/proactive.joblib, never the repo).
`python -m bench.proactive` does both steps and records the figures in
bench/results/proactive.md.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from common.environment import PROJECT_ROOT
from proactive.baselines import Guess, LatestEvent, MostPopular, RuleList
from proactive.evaluate import (
    Figures,
    choose_threshold,
    figures,
    model_guesses,
    split_by_customer,
)
from proactive.features import examples
from proactive.history import History, read_histories
from proactive.model import MODEL_PATH, ProactiveModel, fit

DEFAULT_HISTORIES = PROJECT_ROOT / ".cache" / "proactive" / "histories.jsonl"
# A customer's first month of history only serves as their past: before it nothing is known.
BURN_IN = timedelta(days=30)
TEST_SHARE = 0.25
VALIDATION_SHARE = 0.2
# Offers should be right this often on validation customers (an offer is right when the
# question the customer came with is among the at most three offered).
TARGET_PRECISION = 0.8
# Coverage is also reported at these targets, each threshold chosen on validation the same way.
OTHER_TARGETS = (0.7, 0.9)
ITERATIONS = 100


@dataclass(frozen=True)
class Outcome:
    model: ProactiveModel
    customers: dict[str, int]  # split -> customers
    sessions: dict[str, int]  # split -> sessions evaluated or trained on
    validation: Figures  # the model on validation customers, at the chosen threshold
    test: dict[str, Figures]  # method -> figures on the test customers
    # The test sessions (customer, opened at, question asked) and each method's guesses for
    # them, in the same order.
    test_sessions: list[tuple[str, datetime, str]]
    guesses: dict[str, list[Guess]]
    # precision target -> (threshold chosen on validation, the model on the test customers)
    coverage: dict[float, tuple[float, Figures]]
    training_seconds: float


def train_and_evaluate(
    histories: Sequence[History],
    *,
    seed: int = 42,
    iterations: int = ITERATIONS,
    target_precision: float = TARGET_PRECISION,
) -> Outcome:
    split = split_by_customer(
        histories, test_share=TEST_SHARE, validation_share=VALIDATION_SHARE, seed=seed
    )
    training = examples(split.training, BURN_IN)
    validation = examples(split.validation, BURN_IN)
    test = examples(split.test, BURN_IN)
    started = time.perf_counter()
    model = fit(training, seed=seed, iterations=iterations)
    training_seconds = time.perf_counter() - started

    validation_confidences = model.confidences([moment for moment, _ in validation])
    validation_asked = [question for _, question in validation]
    # Chosen on the validation customers only; the test customers just get them applied.
    thresholds = {
        target: choose_threshold(validation_confidences, model.questions, validation_asked, target)
        for target in sorted({target_precision, *OTHER_TARGETS})
    }
    model.threshold = thresholds[target_precision]
    model.trained = {
        "training_customers": len(split.training),
        "training_sessions": len(training),
        "seed": seed,
        "iterations": iterations,
        "target_precision": target_precision,
    }

    test_moments = [moment for moment, _ in test]
    asked = [question for _, question in test]
    test_confidences = model.confidences(test_moments)
    coverage = {
        target: (
            threshold,
            figures(model_guesses(test_confidences, model.questions, threshold), asked),
        )
        for target, threshold in thresholds.items()
    }
    popular = MostPopular(training)
    latest, rules = LatestEvent(popular), RuleList(popular)
    guesses = {
        "model": model_guesses(test_confidences, model.questions, model.threshold),
        "most popular": [popular.guess(m) for m in test_moments],
        "latest event": [latest.guess(m) for m in test_moments],
        "rule list": [rules.guess(m) for m in test_moments],
    }
    return Outcome(
        model=model,
        customers={
            "training": len(split.training),
            "validation": len(split.validation),
            "test": len(split.test),
        },
        sessions={"training": len(training), "validation": len(validation), "test": len(test)},
        validation=figures(
            model_guesses(validation_confidences, model.questions, model.threshold),
            validation_asked,
        ),
        test={method: figures(guessed, asked) for method, guessed in guesses.items()},
        test_sessions=[(m.customer_id, m.at, question) for m, question in test],
        guesses=guesses,
        coverage=coverage,
        training_seconds=training_seconds,
    )


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def figures_table(outcome: Outcome) -> str:
    """The test customers' figures, one row a method, as a Markdown table."""
    lines = [
        "| method | top-1 | top-3 | sessions offered something | offer right | sessions served |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for method, result in outcome.test.items():
        lines.append(
            f"| {method} | {percent(result.top1)} | {percent(result.top3)} | "
            f"{percent(result.offered)} | {percent(result.right_when_offered)} | "
            f"{percent(result.served)} |"
        )
    return "\n".join(lines)


def coverage_table(outcome: Outcome) -> str:
    """The model's coverage on the test customers at each precision target."""
    lines = [
        "| offers right on validation at least | threshold | sessions offered something | "
        "offer right | sessions served |",
        "| --- | --- | --- | --- | --- |",
    ]
    for target, (threshold, result) in outcome.coverage.items():
        lines.append(
            f"| {percent(target)} | {threshold:.2f} | {percent(result.offered)} | "
            f"{percent(result.right_when_offered)} | {percent(result.served)} |"
        )
    return "\n".join(lines)


def summary(outcome: Outcome) -> str:
    customers, sessions = outcome.customers, outcome.sessions
    return (
        f"customers: {customers['training']} training, {customers['validation']} validation, "
        f"{customers['test']} test; sessions: {sessions['training']} training, "
        f"{sessions['validation']} validation, {sessions['test']} test\n"
        f"offer threshold (chosen on validation): {outcome.model.threshold:.2f}; "
        f"on validation {percent(outcome.validation.offered)} of sessions offered something, "
        f"right {percent(outcome.validation.right_when_offered)}\n"
        f"training: {outcome.training_seconds:.1f} s\n\n{figures_table(outcome)}\n\n"
        f"{coverage_table(outcome)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=Path, default=DEFAULT_HISTORIES)
    parser.add_argument("--model", type=Path, default=MODEL_PATH, help="where to write it")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--target-precision", type=float, default=TARGET_PRECISION)
    args = parser.parse_args()
    if not args.histories.is_file():
        parser.exit(
            2,
            f"no histories at {args.histories}: make them with "
            "`.venv/bin/python -m services.sandbox.asking` (or pass --histories)\n",
        )
    outcome = train_and_evaluate(
        read_histories(args.histories),
        seed=args.seed,
        iterations=args.iterations,
        target_precision=args.target_precision,
    )
    path = outcome.model.save(args.model)
    print(f"{summary(outcome)}\n\nmodel written to {path}")


if __name__ == "__main__":
    main()
