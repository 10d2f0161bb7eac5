"""Runs Rasa's command line from the project root with the project's environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from common.environment import PROJECT_ROOT, process_environment


def run_rasa(
    *arguments: str, log_path: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Runs `rasa <arguments>`, writing its output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        return subprocess.run(
            [sys.executable, "-m", "rasa", *arguments],
            cwd=PROJECT_ROOT,
            env=environment or process_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def log_tail(log_path: Path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
