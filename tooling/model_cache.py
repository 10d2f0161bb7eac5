"""Train the assistant only when its training data or configuration changed.

The model is named after a fingerprint of everything that goes into it, so a model whose
name matches is reused by `scripts/run` and by the test suite instead of retrained. The
proactive model (models/proactive.joblib, which the offers made when a chat opens come from)
is kept the same way: trained on the sandbox customers' histories when it is missing or its
code or data changed, its fingerprint written beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from common.environment import PROJECT_ROOT
from tooling.rasa_cli import log_tail, run_rasa
from tooling.training_progress import TrainingProgress

MODELS_DIR = PROJECT_ROOT / "models"
TRAINING_LOG = PROJECT_ROOT / ".data" / "logs" / "train.log"
MODEL_INPUTS = (
    "config.yml",
    "domain.yml",
    "domain",
    "data",
    "nlu",
    "policies",
    "capabilities",
    # The registry's reader and its translation: their output is part of the domain and rules.
    "registry",
    "requirements.lock",
    "requirements-nodeps.lock",
)
# What the proactive model is made from: its own code, the sandbox's customers and their asking
# behaviour (the histories it learns from), and the libraries that fit it.
PROACTIVE_INPUTS = (
    "proactive",
    "services/sandbox/asking.py",
    "services/sandbox/seed.py",
    "requirements.lock",
)
# As many customers' histories as `python -m services.sandbox.asking` makes by default.
PROACTIVE_CUSTOMERS = 2000


def model_fingerprint(root: Path = PROJECT_ROOT) -> str:
    return _fingerprint(MODEL_INPUTS, root)


def _fingerprint(entries: tuple[str, ...], root: Path) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        path = root / entry
        if not path.exists():  # an earlier revision's tree, without a package added since
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix in {".pyc"} or "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path(fingerprint: str) -> Path:
    return MODELS_DIR / f"fincs-{fingerprint}.tar.gz"


def train(
    target: Path,
    log_path: Path,
    environment: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> float:
    """Trains the full assistant into ``target``; returns the seconds it took.

    With ``progress``, each training step is passed to it as a line while training runs.
    """
    started = time.monotonic()
    following = TrainingProgress(log_path, progress) if progress else contextlib.nullcontext()
    with following:
        result = run_rasa(
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(target.parent),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
            log_path=log_path,
            environment=environment,
        )
    if result.returncode != 0:
        raise RuntimeError(f"Training failed (full log: {log_path}):\n{log_tail(log_path)}")
    return time.monotonic() - started


def ensure_proactive_model() -> Path:
    """Returns the proactive model for the current project files, training it (about half a
    minute) when it is missing or was made from other code or data."""
    # Imported here: scikit-learn is slow to import, and most callers only need the assistant.
    from common.clock import utcnow
    from proactive.history import histories_from
    from proactive.model import MODEL_PATH
    from proactive.train import train_and_evaluate
    from services.sandbox.asking import generate_histories

    fingerprint = _fingerprint(PROACTIVE_INPUTS, PROJECT_ROOT)
    kept = MODEL_PATH.with_suffix(".fingerprint")
    if MODEL_PATH.exists() and kept.exists() and kept.read_text().strip() == fingerprint:
        return MODEL_PATH
    print("Training the proactive model: missing, or its code or data changed", flush=True)
    started = time.monotonic()
    lines = generate_histories(PROACTIVE_CUSTOMERS, seed=42, reference_date=utcnow().date())
    outcome = train_and_evaluate(histories_from(lines))
    # Written under a name of its own and renamed when complete, as the assistant's model.
    unfinished = MODEL_PATH.with_name(f"training-{os.getpid()}-{MODEL_PATH.name}")
    outcome.model.save(unfinished)
    os.replace(unfinished, MODEL_PATH)
    kept.write_text(fingerprint)
    print(f"Trained {MODEL_PATH.name} in {time.monotonic() - started:.0f} s", flush=True)
    return MODEL_PATH


def ensure_model() -> Path:
    """Returns the trained model for the current project files, training it if missing; makes
    sure the proactive model is current first (the action server loads it)."""
    ensure_proactive_model()
    target = model_path(model_fingerprint())
    if target.exists():
        return target
    print(
        f"Training the assistant: its data or configuration changed (log: "
        f"{TRAINING_LOG.relative_to(PROJECT_ROOT)})",
        flush=True,
    )
    # Trained under a name of its own and renamed when complete, so a server started by
    # another process at the same time never loads a half-written model.
    unfinished = target.with_name(f"training-{os.getpid()}-{target.name}")
    seconds = train(unfinished, TRAINING_LOG, progress=lambda line: print(line, flush=True))
    os.replace(unfinished, target)
    print(f"Trained {target.name} in {seconds:.0f} s", flush=True)
    return target


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(ensure_model())


if __name__ == "__main__":
    main()
