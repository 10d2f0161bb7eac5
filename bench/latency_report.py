"""bench/results/latency.md: one section per kind of run, each replaced only by its own command.

`bench.latency` (one server, closed loop), `bench.latency --scale-out` (the scale-out profile
beside one server) and `bench.latency --paced` (customers paced as people type) each write
their own section, with the date, commit, cores, the machine's load and the command that made
it, and keep the other sections as they were recorded.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.report import provenance

TITLE = "Latency and throughput over REST: the assistant and stock `rasa init`"
# The sections in the order the file shows them, with their headings.
SECTIONS = {
    "closed": "One server, conversations held open",
    "scale-out": "The scale-out profile beside one server, conversations held open",
    "paced": "Customers paced as people type: how many one machine serves",
}
INTRO = (
    "Each section is made by its own command, named in it, with stock `rasa init` measured in "
    "the same run; a run replaces only its own section."
)
_SECTION = re.compile(r"<!-- section (\S+) -->\n(.*?)<!-- end of section \1 -->\n", re.DOTALL)


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def sections_of(text: str) -> dict[str, str]:
    return dict(_SECTION.findall(text))


def write_section(
    path: Path, key: str, body: str, made: dict[str, str], load_before: str, load_after: str
) -> Path:
    """Writes section ``key`` of the results file at ``path``, keeping its other sections."""
    sections = sections_of(path.read_text()) if path.exists() else {}
    fields = provenance(made).replace(
        "- command:",
        f"- load average (1, 5, 15 min): {load_before} before the servers started, "
        f"{load_after} at the end\n- command:",
    )
    sections[key] = f"## {SECTIONS[key]}\n\n{fields}\n{body.strip()}\n"
    parts = [f"# {TITLE}\n\n{INTRO}\n"]
    parts += [
        f"<!-- section {name} -->\n{sections[name]}<!-- end of section {name} -->\n"
        for name in SECTIONS
        if name in sections
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
    return path


@dataclass
class CpuMeter:
    """The machine's CPU spent by other work than this run (its servers, the load generator
    and itself) while a load runs: the machine is shared, and a figure measured while
    something else ran is worth less. In percent of all cores."""

    busy: float = 0.0
    ours: float = 0.0
    wall: float = 0.0

    @staticmethod
    def _now() -> tuple[float, float]:
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        me = psutil.Process()
        mine = me.cpu_times()
        # Children that ended (each load generator) count in children_*; running ones below.
        ours = mine.user + mine.system + mine.children_user + mine.children_system
        for child in me.children(recursive=True):
            try:
                ours += sum(child.cpu_times()[:2])
            except psutil.Error:
                continue
        return busy, ours

    def start(self) -> CpuMeter:
        self.busy, self.ours = self._now()
        self.wall = time.monotonic()
        return self

    def other_work_percent(self) -> float:
        busy, ours = self._now()
        wall = time.monotonic() - self.wall
        share = (busy - self.busy - (ours - self.ours)) / (wall * (os.cpu_count() or 1))
        return max(0.0, 100 * share)
