"""The benchmark timer: wall time and peak memory of a command, less any time it was suspended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.measure import SUSPENDED_AFTER_SECONDS
from common.environment import PROJECT_ROOT, process_environment

# Measures a child that sleeps for a given time, and prints what was measured; the third
# argument is the gap between two polls the harness takes for a suspension.
MEASURE_A_SLEEP = """
import json, sys
from pathlib import Path
from bench import measure
measure.SUSPENDED_AFTER_SECONDS = float(sys.argv[3])
measured = measure.run_measured(
    [sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))", sys.argv[1]],
    Path(sys.argv[2]),
    {},
)
print(json.dumps(measured.__dict__))
"""


def measure_sleep(
    seconds: float,
    log: Path,
    suspend_for: float = 0.0,
    suspended_after: float = SUSPENDED_AFTER_SECONDS,
) -> dict:
    harness = subprocess.Popen(
        [sys.executable, "-c", MEASURE_A_SLEEP, str(seconds), str(log), str(suspended_after)],
        cwd=PROJECT_ROOT,
        env=process_environment(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if suspend_for:
        time.sleep(seconds / 2)
        # As Ctrl-Z does: the whole process group, the harness and the command it measures.
        os.killpg(harness.pid, signal.SIGSTOP)
        time.sleep(suspend_for)
        os.killpg(harness.pid, signal.SIGCONT)
    output, _ = harness.communicate(timeout=120)
    assert harness.returncode == 0
    return json.loads(output)


def test_a_command_is_timed_by_the_wall_clock(tmp_path: Path):
    measured = measure_sleep(2.0, tmp_path / "sleep.log")

    assert measured["returncode"] == 0
    assert 2.0 <= measured["seconds"] < 4.0
    assert measured["paused_seconds"] == 0.0
    assert measured["peak_rss_mb"] > 0


def test_time_suspended_is_not_counted(tmp_path: Path):
    # A suspension is told by a gap between polls (ten seconds in a real run, so that a busy
    # machine's slow poll is not taken for one); three here, so that the test suspends the
    # run for five seconds rather than twelve.
    measured = measure_sleep(2.0, tmp_path / "sleep.log", suspend_for=5.0, suspended_after=3.0)

    assert 4.0 <= measured["paused_seconds"] <= 6.5
    assert 2.0 <= measured["seconds"] < 4.0
