"""The faults-under-load benchmark's smoke run: ten conversations through the scale-out profile
while a Rasa server is killed, both action servers are restarted (one unannounced, one drained),
and the lock store's Redis and the tracker store's PostgreSQL are restarted; every message is
answered, and stored once and in order, whatever happened meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmark_runs import run_benchmark, table_rows
from tests.e2e.production_services import require_scale_out_servers

pytestmark = [pytest.mark.bench, pytest.mark.e2e, pytest.mark.postgres]

FAULTS = (
    "rasa-1 killed",
    "actions-1 stopped unannounced",
    "actions-2 taken out of the balancer",
    "redis-server restarted",
    "PostgreSQL (the tracker store's) restarted",
)


def test_every_message_is_answered_and_stored_once_in_order_through_every_fault(
    tmp_path: Path,
) -> None:
    require_scale_out_servers()
    out = tmp_path / "scale_out-smoke.md"

    run_benchmark("bench.scale_out_faults", "--smoke", "--out", str(out), timeout=900)

    text = out.read_text()
    print(text)
    for fault in FAULTS:
        assert fault in text, f"{fault!r} did not happen"
    counts = {row[0]: row[1] for row in table_rows(text) if len(row) == 2}
    assert counts["messages sent (each once by the script)"] == "100"
    assert counts["never answered"] == "0"
    assert counts["user messages in PostgreSQL"] == "100"
    for finding in (
        "lost (taken, not stored)",
        "duplicated (stored twice)",
        "out of order (a turn stored before an earlier one)",
        "turns begun before the one before ended",
        "answers not as stored",
    ):
        assert counts[finding] == "0", finding
