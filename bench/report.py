"""Writes a benchmark's figures to its committed results file, with how they were made."""

from __future__ import annotations

import datetime
import os
import shlex
import subprocess
import sys
from pathlib import Path

from common.environment import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


def provenance_fields() -> dict[str, str]:
    """When, on what code and how many cores, and by which command, the figures were made."""
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        or "uncommitted"
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    script = Path(sys.argv[0]).resolve().relative_to(PROJECT_ROOT)
    module = ".".join(script.with_suffix("").parts)
    command = shlex.join([".venv/bin/python", "-m", module, *sys.argv[1:]])
    return {
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        "commit": f"{commit}{' (with uncommitted changes)' if dirty else ''}",
        "cores": str(os.cpu_count()),
        "command": command,
    }


def provenance(fields: dict[str, str]) -> str:
    return (
        f"- date: {fields['date']}\n"
        f"- commit: {fields['commit']}\n"
        f"- cores: {fields['cores']}\n"
        f"- command: `{fields['command']}`\n"
    )


def write_results(
    name: str, title: str, body: str, path: Path | None = None, made: dict[str, str] | None = None
) -> Path:
    """Writes bench/results/<name>.md, or ``path`` when given (smoke runs, tests).

    ``made`` is the run's provenance taken when it started: by the time the report is written,
    the run's own figures files may already have made the working tree look changed.
    """
    path = path or RESULTS_DIR / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{provenance(made or provenance_fields())}\n{body.strip()}\n")
    return path
