"""Train the assistant only when its training data or configuration changed.

The model is named after a fingerprint of everything that goes into it, so a model whose
name matches is reused by `scripts/run` and by the test suite instead of retrained.
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
    "capabilities",
    # The registry's reader and its translation: their output is part of the domain and rules.
    "registry",
    "requirements.lock",
    "requirements-nodeps.lock",
)


def model_fingerprint(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for entry in MODEL_INPUTS:
        path = root / entry
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


def ensure_model() -> Path:
    """Returns the trained model for the current project files, training it if missing."""
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
