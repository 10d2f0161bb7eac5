"""Running a benchmark as its smoke test does: `python -m <module> ...` from the project root
in the test's own environment, failing the test with the end of its output when it fails, and
reading the tables of the results file it wrote."""

from __future__ import annotations

import os
import subprocess
import sys

from common.environment import FIXED_SETTINGS, PROJECT_ROOT

# Every results file says when, on what code and machine, and by which command it was made.
PROVENANCE_FIELDS = ("- date: ", "- commit: ", "- cores: ", "- command: `")


def run_benchmark(module: str, *arguments: str, timeout: float) -> None:
    """The benchmark reads the profile of each server it starts itself: a profile's values
    handed to it would win over another profile's (a caller's settings win over a profile's),
    and a scale-out run would start its servers with the embedded event broker and lock store."""
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, **FIXED_SETTINGS},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every row of the Markdown tables in ``text``, headers included."""
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
