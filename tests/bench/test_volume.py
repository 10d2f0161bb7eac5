"""The volume benchmark's smoke run: what one message costs the tracker store with 10 and with
2,000 stored conversations on SQLite, written to its results file.

The two sizes are measured alternately in the same run, so the machine's load falls on both;
a lookup that scanned the stored conversations instead of going through the indexes would cost
the larger store many times the smaller one's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmark_runs import run_benchmark, table_rows

pytestmark = pytest.mark.bench

# The message's median cost at 2,000 stored conversations, at most this many times its cost at
# 10 (about 1.1 when measured; a full scan per read at this size is tens of times).
LARGEST_COST_FACTOR = 2.0


def test_a_message_costs_the_tracker_store_about_the_same_with_10_or_2000_conversations(
    tmp_path: Path,
):
    out = tmp_path / "volume-smoke.md"

    run_benchmark("bench.volume", "--smoke", "--out", str(out), timeout=120)

    text = out.read_text()
    assert "- command: `.venv/bin/python -m bench.volume --smoke" in text
    rows = [row for row in table_rows(text) if row[0] == "sqlite" and len(row) == 7]
    assert [row[1] for row in rows] == ["10", "2,000"]
    small, large = (float(row[5]) for row in rows)
    assert large <= LARGEST_COST_FACTOR * small, f"p50 {large} ms at 2,000 vs {small} ms at 10"
