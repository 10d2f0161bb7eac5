"""The stock assistant that `rasa init --no-prompt` creates, trained once and kept by fingerprint.

It lives in .cache/bench/stock_init/<fingerprint>/: the project `rasa init` writes and the model
it trains. The fingerprint covers the installed Rasa's version and its scaffold, so a new Rasa
makes a new one. A smoke run copies the same scaffold (as `rasa init` does) and trains it with
one epoch per model, which is quick and serves the same way.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

from bench.nlu_public import rasa_package_file
from common.environment import PROJECT_ROOT
from tooling.rasa_cli import log_tail, run_rasa

CACHE_DIR = PROJECT_ROOT / ".cache" / "bench" / "stock_init"
READY = "bench-ready"


@dataclass(frozen=True)
class StockAssistant:
    directory: Path
    model: Path
    # Seconds the training took if it happened now, None when the cached one was reused.
    training_seconds: float | None
    smoke: bool

    @property
    def credentials(self) -> Path:
        return self.directory / "credentials.yml"

    @property
    def endpoints(self) -> Path:
        return self.directory / "endpoints.yml"


def scaffold_dir() -> Path:
    return rasa_package_file("cli", "initial_project")


def fingerprint(smoke: bool) -> str:
    digest = hashlib.sha256(f"rasa {metadata.version('rasa')} smoke={smoke}".encode())
    scaffold = scaffold_dir()
    for path in sorted(scaffold.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(scaffold)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _smoke_config(path: Path) -> None:
    """Rasa's default configuration (what `rasa init` trains with), one epoch per model."""
    config = yaml.safe_load(
        rasa_package_file("engine", "recipes", "config_files", "default_config.yml").read_text()
    )
    for component in [*config["pipeline"], *config["policies"]]:
        if "epochs" in component:
            component["epochs"] = 1
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def ensure_stock_assistant(smoke: bool = False) -> StockAssistant:
    directory = CACHE_DIR / f"{'smoke-' if smoke else ''}{fingerprint(smoke)}"
    if (directory / READY).exists():
        model = (directory / READY).read_text().strip()
        return StockAssistant(directory, directory / model, None, smoke)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    log_path = directory / "train.log"
    print(
        f"creating the stock `rasa init` assistant in {directory.relative_to(PROJECT_ROOT)}",
        flush=True,
    )
    started = time.monotonic()
    if smoke:
        shutil.copytree(
            scaffold_dir(),
            directory,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        _smoke_config(directory / "config.yml")
        result = run_rasa(
            "train",
            "--config",
            str(directory / "config.yml"),
            "--domain",
            str(directory / "domain.yml"),
            "--data",
            str(directory / "data"),
            "--out",
            str(directory / "models"),
            log_path=log_path,
        )
    else:
        result = run_rasa("init", "--no-prompt", "--init-dir", str(directory), log_path=log_path)
    seconds = time.monotonic() - started
    models = sorted((directory / "models").glob("*.tar.gz"))
    if result.returncode != 0 or len(models) != 1:
        raise RuntimeError(
            f"the stock assistant did not train (log: {log_path}):\n{log_tail(log_path)}"
        )
    (directory / READY).write_text(str(models[0].relative_to(directory)))
    print(f"  trained in {seconds:.0f} s", flush=True)
    return StockAssistant(directory, models[0], seconds, smoke)
