"""Held-out evaluation: customers split three ways, hit rates, coverage, the offer threshold.

Customers, not sessions, are split: a test customer's sessions are never seen in training, so
their habits cannot leak into the model. The threshold is chosen on the validation customers
(a share of the training side the model is not fitted on) and only applied to the test ones.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from proactive.baselines import Guess
from proactive.history import History

THRESHOLDS = tuple(round(0.01 * step, 2) for step in range(1, 100))


@dataclass(frozen=True)
class Split:
    training: list[History]
    validation: list[History]
    test: list[History]


def split_by_customer(
    histories: Sequence[History], *, test_share: float, validation_share: float, seed: int
) -> Split:
    """``validation_share`` is of the customers left after the test ones."""
    customers = sorted({h.customer_id for h in histories})
    random.Random(f"proactive-split:{seed}").shuffle(customers)
    test_count = round(len(customers) * test_share)
    validation_count = round((len(customers) - test_count) * validation_share)
    test = set(customers[:test_count])
    validation = set(customers[test_count : test_count + validation_count])
    return Split(
        training=[h for h in histories if h.customer_id not in test | validation],
        validation=[h for h in histories if h.customer_id in validation],
        test=[h for h in histories if h.customer_id in test],
    )


@dataclass(frozen=True)
class Figures:
    """One method on one set of sessions."""

    sessions: int
    top1: float
    top3: float
    offered: float  # share of sessions where something was offered
    right_when_offered: float  # of those, the share where the question asked was offered
    served: float  # share of all sessions where the question asked was offered


def figures(guesses: Sequence[Guess], asked: Sequence[str]) -> Figures:
    count = len(asked)
    top1 = sum(g.ranking[0] == q for g, q in zip(guesses, asked, strict=True))
    top3 = sum(q in g.ranking[:3] for g, q in zip(guesses, asked, strict=True))
    offered = sum(bool(g.offered) for g in guesses)
    served = sum(q in g.offered for g, q in zip(guesses, asked, strict=True))
    return Figures(
        sessions=count,
        top1=top1 / count,
        top3=top3 / count,
        offered=offered / count,
        right_when_offered=served / offered if offered else 0.0,
        served=served / count,
    )


def model_guesses(
    confidences: np.ndarray, questions: Sequence[str], threshold: float, limit: int = 3
) -> list[Guess]:
    """The model's ranking of each session and its offer (model.ProactiveModel.offers)."""
    guesses = []
    for row in confidences:
        order = np.argsort(-row, kind="stable")[: max(limit, 3)]
        ranking = [questions[i] for i in order]
        offered = ranking[:limit] if row[order[:limit]].sum() >= threshold else []
        guesses.append(Guess(ranking, offered))
    return guesses


def choose_threshold(
    confidences: np.ndarray,
    questions: Sequence[str],
    asked: Sequence[str],
    target_precision: float,
    limit: int = 3,
) -> float:
    """The lowest threshold whose offers are right at least ``target_precision`` of the time on
    these (validation) sessions: as many customers served as that precision allows. If no
    threshold reaches it, the most precise one."""
    index = {question: i for i, question in enumerate(questions)}
    truth = np.array([index.get(question, -1) for question in asked])
    top = np.argsort(-confidences, axis=1, kind="stable")[:, :limit]
    together = np.take_along_axis(confidences, top, axis=1).sum(axis=1)
    right = (top == truth[:, None]).any(axis=1)
    best, best_precision = THRESHOLDS[-1], -1.0
    for threshold in THRESHOLDS:
        offered = together >= threshold
        sessions_offered = offered.sum()
        if not sessions_offered:
            break
        precision = (offered & right).sum() / sessions_offered
        if precision >= target_precision:
            return threshold
        if precision > best_precision:
            best, best_precision = threshold, precision
    return best
