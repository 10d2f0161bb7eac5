"""Wall time and peak memory of a child process and everything it spawns."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from common.environment import PROJECT_ROOT

POLL_SECONDS = 0.2
# A gap this long between two polls means the harness itself was suspended (stopped with
# SIGSTOP or Ctrl-Z, or the machine asleep), and the command with it: that time is not counted.
SUSPENDED_AFTER_SECONDS = 10.0


@dataclass(frozen=True)
class Measured:
    returncode: int
    # Wall time less any time the run was suspended.
    seconds: float
    # The largest sum of resident memory over the process and its children seen at one poll.
    peak_rss_mb: float
    paused_seconds: float = 0.0


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


def run_measured(
    command: Sequence[str],
    log_path: Path,
    environment: dict[str, str],
    timeout_seconds: float | None = None,
) -> Measured:
    """Runs ``command`` from the project root, output to ``log_path``, polling its memory."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        started = time.monotonic()
        child = subprocess.Popen(
            list(command), cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        watched = psutil.Process(child.pid)
        peak, paused, last_poll = 0, 0.0, started
        while child.poll() is None:
            now = time.monotonic()
            if now - last_poll > SUSPENDED_AFTER_SECONDS:
                paused += now - last_poll - POLL_SECONDS
            last_poll = now
            peak = max(peak, _tree_rss(watched))
            if timeout_seconds is not None and now - started - paused > timeout_seconds:
                child.kill()
                child.wait()
                raise TimeoutError(f"{command[:4]} ran over {timeout_seconds:.0f} s")
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started - paused
    return Measured(child.returncode, seconds, peak / 1e6, paused)
