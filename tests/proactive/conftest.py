"""One smoke-sized set of sandbox customers' histories and one model trained on it, shared by
the proactive tests (a few seconds each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pytest

import proactive.train
from proactive.history import histories_from
from proactive.train import Outcome, train_and_evaluate
from services.sandbox.asking import generate_histories

REFERENCE_DATE = date(2025, 3, 14)
SMOKE_CUSTOMERS = 400


@pytest.fixture(scope="session")
def smoke_lines() -> list[dict[str, Any]]:
    return generate_histories(SMOKE_CUSTOMERS, seed=42, reference_date=REFERENCE_DATE)


@dataclass
class ThresholdChoice:
    """What the threshold was chosen on, seen from inside the training run."""

    sessions: int
    asked: list[str]


@pytest.fixture(scope="session")
def trained(smoke_lines: list[dict[str, Any]]) -> tuple[Outcome, list[ThresholdChoice]]:
    """The outcome, and every threshold choice made in the run (one per precision target)."""
    choices: list[ThresholdChoice] = []
    choose = proactive.train.choose_threshold

    def watched(confidences: np.ndarray, questions: Any, asked: Any, target: float) -> float:
        choices.append(ThresholdChoice(len(confidences), list(asked)))
        return choose(confidences, questions, asked, target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proactive.train, "choose_threshold", watched)
        outcome = train_and_evaluate(histories_from(smoke_lines), seed=42)
    return outcome, choices
