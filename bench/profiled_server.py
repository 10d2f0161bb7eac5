"""Runs a server module under yappi, profiling only between two signals.

    python -m bench.profiled_server STATS_PATH MODULE [ARGUMENT ...]

runs ``python -m MODULE ARGUMENT ...`` in this process. SIGUSR1 clears and starts yappi (wall
clock, every thread, coroutines timed from first call to return, awaits included); SIGUSR2
stops it and writes every profiled function, with its callees, to STATS_PATH as JSON (written
whole, then renamed, so a reader never sees half of it). The start-up, the model load and
a warm-up stay out of the profile. Used by bench/profile.py.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import yappi


def _function(stat: Any) -> dict[str, Any]:
    return {
        "file": stat.module,
        "line": stat.lineno,
        "name": stat.name,
        "calls": stat.ncall,
        "seconds": stat.ttot,
    }


def function_stats() -> list[dict[str, Any]]:
    """Each profiled function's calls and wall seconds, and those of each function it called."""
    return [
        {
            **_function(stat),
            "own_seconds": stat.tsub,
            "callees": [_function(child) for child in stat.children],
        }
        for stat in yappi.get_func_stats()
    ]


def main() -> None:
    stats_path, module, *arguments = sys.argv[1:]

    def start(_signal: int, _frame: FrameType | None) -> None:
        yappi.stop()
        yappi.clear_stats()
        yappi.set_clock_type("wall")
        yappi.start(builtins=False, profile_threads=True)

    def stop(_signal: int, _frame: FrameType | None) -> None:
        yappi.stop()
        unfinished = Path(f"{stats_path}.part")
        unfinished.write_text(json.dumps(function_stats()))
        os.replace(unfinished, stats_path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
