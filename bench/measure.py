"""Wall time and peak memory of a child process and everything it spawns."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from tooling.environment import PROJECT_ROOT

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    # The largest sum of resident memory over the process and its children seen at one poll.
    peak_rss_mb: float


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(command: Sequence[str], log_path: Path, environment: dict[str, str],
                 timeout_seconds: float | None = None) -> Measured:
    """Runs ``command`` from the project root, output to ``log_path``, polling its memory."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        started = time.monotonic()
        child = subprocess.Popen(list(command), cwd=PROJECT_ROOT, env=environment,
                                 stdout=log, stderr=subprocess.STDOUT)
        watched = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss(watched))
            if timeout_seconds is not None and time.monotonic() - started > timeout_seconds:
                child.kill()
                child.wait()
                raise TimeoutError(f"{command[:4]} ran over {timeout_seconds:.0f} s")
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started
    return Measured(child.returncode, seconds, peak / 1e6)
