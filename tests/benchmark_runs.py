"""Running a benchmark as its smoke test does: `python -m <module> ...` from the project root
in the project's environment, failing the test with the end of its output when it fails, and
reading the tables of the results file it wrote."""

from __future__ import annotations

import subprocess
import sys

from common.environment import PROJECT_ROOT, process_environment

# Every results file says when, on what code and machine, and by which command it was made.
PROVENANCE_FIELDS = ("- date: ", "- commit: ", "- cores: ", "- command: `")


def run_benchmark(module: str, *arguments: str, timeout: float) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=PROJECT_ROOT,
        env=process_environment(),
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
