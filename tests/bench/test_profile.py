"""The end-to-end profile's smoke run profiles a real conversation and names every part.

Checks the rows bench/results/profile.md gets and that each part was really seen (calls and
milliseconds above zero), never a speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmark_runs import run_benchmark

pytestmark = pytest.mark.bench

# Each part of a message the profile must time, by the start of its row's name.
PARTS = [
    "client: the whole request, profiler off",
    "client: the whole request, under the profiler",
    "Rasa server: the channel's request handler",
    "channel (signature, limits, paused check, reply)",
    "NLU (MessageProcessor.parse_message)",
    "policy prediction",
    "tracker store read",
    "tracker store write",
    "event broker: publish",
    "action server round trip",
    "HTTP request and answer",
    "action server: request handler",
    "back-end calls",
    "back end (sandbox's own time): GET /v1/",
]


def rows(text: str) -> dict[str, list[str]]:
    table = {}
    for line in text.splitlines():
        if line.startswith("| ") and "---" not in line:
            name, *cells = (cell.strip() for cell in line.strip("|").split("|"))
            table[name.replace("&nbsp;", "")] = cells
    return table


def test_profile_smoke_times_every_part_of_a_message(tmp_path: Path):
    out = tmp_path / "profile-smoke.md"

    run_benchmark("bench.profile", "--smoke", "--out", str(out), timeout=600)
    text = out.read_text()
    for field in ("- date: ", "- commit: ", "- cores: ", "- command: `"):
        assert field in text
    table = rows(text)
    for part in PARTS:
        found = [cells for name, cells in table.items() if name.startswith(part)]
        assert found, f"no row for {part!r} in:\n{text}"
        milliseconds, calls = found[0]
        assert float(milliseconds) > 0, f"{part!r} took no time:\n{text}"
        if part != PARTS[3]:  # the channel's own share is what is left, not a call
            assert float(calls) > 0, f"{part!r} was never called:\n{text}"
    # NLU nodes by their graph names, each really run.
    nodes = [cells for name, cells in table.items() if name.startswith("node run_")]
    assert len(nodes) >= 5 and all(float(calls) > 0 for _, calls in nodes), text
    assert "errors in the servers' logs: 0" in text
