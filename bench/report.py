"""Writes a benchmark's figures to its committed results file, with how they were made."""

from __future__ import annotations

import datetime
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tooling.environment import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


def provenance() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True).stdout.strip() or "uncommitted"
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True).stdout.strip()
    script = Path(sys.argv[0]).resolve().relative_to(PROJECT_ROOT)
    module = ".".join(script.with_suffix("").parts)
    command = shlex.join([".venv/bin/python", "-m", module, *sys.argv[1:]])
    return (
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}\n"
        f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}\n"
        f"- cores: {os.cpu_count()}\n"
        f"- command: `{command}`\n"
    )


def write_results(name: str, title: str, body: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(f"# {title}\n\n{provenance()}\n{body.strip()}\n")
    return path
