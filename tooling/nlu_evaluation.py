"""NLU quality on a held-out split of the project's own training data.

Rasa splits the designers' examples (data/nlu/<line>.yml) per intent (seeded, so the split is
stable), an NLU-only model is trained on the training part and on the customers' words
(data/nlu/customers/, public train splits), and the whole pipeline scores the held-out part
(tooling/parse_evaluation.py: intents as `rasa test nlu` scores them, entities as found).
Used by the test suite (with thresholds) and by bench/assistant_quality.py (which records
the figures).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common.environment import PROJECT_ROOT, process_environment
from tooling.model_cache import model_fingerprint
from tooling.rasa_cli import log_tail, run_rasa

WORK_DIR = PROJECT_ROOT / ".cache" / "nlu_heldout"
DESIGNERS_DATA = PROJECT_ROOT / "data" / "nlu"
TRAINING_FRACTION = "0.8"
SPLIT_SEED = "42"


@dataclass(frozen=True)
class NluScores:
    intent_accuracy: float
    intent_macro_f1: float
    intent_weighted_f1: float
    entity_micro_f1: float | None
    test_examples: int
    training_seconds: float | None
    worst_intents: list[tuple[str, float]]
    confusions: list[tuple[str, str, int]]
    entity_f1_by_type: dict[str, float]


def _run(*arguments: str, log_name: str, environment: dict[str, str] | None = None) -> None:
    log_path = WORK_DIR / "logs" / log_name
    if run_rasa(*arguments, log_path=log_path, environment=environment).returncode != 0:
        raise RuntimeError(f"rasa {arguments[0]} failed:\n{log_tail(log_path)}")


def _train_on_split(
    fingerprint: str, fresh: bool, with_customers_words: bool
) -> tuple[Path, Path, float | None]:
    variant = fingerprint if with_customers_words else f"{fingerprint}-designers-only"
    split_dir = WORK_DIR / f"split-{variant}"
    model = WORK_DIR / "models" / f"nlu-heldout-{variant}.tar.gz"
    if fresh:
        model.unlink(missing_ok=True)
    if not (split_dir / "test_data.yml").exists():
        designers = split_dir / "designers"
        training = split_dir / "training"
        for directory in (designers, training / "customers"):
            directory.mkdir(parents=True, exist_ok=True)
        for path in DESIGNERS_DATA.glob("*.yml"):
            shutil.copy(path, designers / path.name)
        if with_customers_words:
            for path in (DESIGNERS_DATA / "customers").glob("*.yml"):
                shutil.copy(path, training / "customers" / path.name)
        _run(
            "data",
            "split",
            "nlu",
            "--nlu",
            str(designers),
            "--out",
            str(split_dir),
            "--training-fraction",
            TRAINING_FRACTION,
            "--random-seed",
            SPLIT_SEED,
            log_name="split.log",
        )
        shutil.move(split_dir / "training_data.yml", training / "training_data.yml")
    if model.exists():
        return model, split_dir / "test_data.yml", None
    started = time.monotonic()
    _run(
        "train",
        "nlu",
        "--config",
        "config.yml",
        "--nlu",
        str(split_dir / "training"),
        "--out",
        str(model.parent),
        "--fixed-model-name",
        model.name.removesuffix(".tar.gz"),
        log_name="train.log",
        # A fresh measurement must not reuse components from Rasa's training cache.
        environment=process_environment(RASA_MAX_CACHE_SIZE="0") if fresh else None,
    )
    return model, split_dir / "test_data.yml", time.monotonic() - started


def _confusions(errors_path: Path) -> list[tuple[str, str, int]]:
    if not errors_path.exists():
        return []
    counts: dict[tuple[str, str], int] = {}
    for error in json.loads(errors_path.read_text()):
        pair = (error["intent"], error["intent_prediction"]["name"])
        counts[pair] = counts.get(pair, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return [(expected, predicted, count) for (expected, predicted), count in ranked]


def evaluate_heldout(fresh: bool = False, with_customers_words: bool = True) -> NluScores:
    """Scores the held-out split; ``fresh`` retrains instead of reusing a matching model.

    Without customers' words the model learns from the designers' examples alone: a few
    minutes less, enough to catch a regression in them.
    """
    model, test_data, training_seconds = _train_on_split(
        model_fingerprint(), fresh, with_customers_words
    )
    report_dir = WORK_DIR / "report"
    score(model, test_data, report_dir, WORK_DIR / "logs" / "score.log")
    intents = json.loads((report_dir / "intent_report.json").read_text())
    per_intent = {
        name: values["f1-score"]
        for name, values in intents.items()
        if isinstance(values, dict)
        and "support" in values
        and name not in {"macro avg", "weighted avg", "micro avg"}
    }
    entities = json.loads((report_dir / "entity_report.json").read_text())
    averaged = entities["micro avg"]
    return NluScores(
        intent_accuracy=intents["accuracy"],
        intent_macro_f1=intents["macro avg"]["f1-score"],
        intent_weighted_f1=intents["weighted avg"]["f1-score"],
        entity_micro_f1=averaged["f1-score"] if averaged["support"] else None,
        test_examples=int(intents["macro avg"]["support"]),
        training_seconds=training_seconds,
        worst_intents=sorted(per_intent.items(), key=lambda item: item[1])[:5],
        confusions=_confusions(report_dir / "intent_errors.json")[:10],
        entity_f1_by_type={
            label: values["f1-score"]
            for label, values in entities.items()
            if label not in {"micro avg", "misses"}
        },
    )


def score(model: Path, test_data: Path, report_dir: Path, log_path: Path) -> None:
    """Intents and entities of the whole pipeline (tooling/parse_evaluation.py) into
    ``report_dir``, in a subprocess so the model's TensorFlow stays out of the caller's
    process."""
    with log_path.open("w") as log:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tooling.parse_evaluation",
                "--model",
                str(model),
                "--data",
                str(test_data),
                "--out",
                str(report_dir),
            ],
            cwd=PROJECT_ROOT,
            env=process_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise RuntimeError(f"scoring {test_data} failed:\n{log_tail(log_path)}")
