"""`python -m bench.proactive --smoke` still generates, trains, evaluates and records its figures
where it is told (a benchmark's harness, never a speed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmark_runs import PROVENANCE_FIELDS, run_benchmark, table_rows

pytestmark = pytest.mark.bench


def test_the_proactive_benchmark_records_the_model_beside_three_baselines(tmp_path: Path) -> None:
    out, model = tmp_path / "proactive-smoke.md", tmp_path / "proactive-smoke.joblib"
    run_benchmark(
        "bench.proactive", "--smoke", "--out", str(out), "--model", str(model), timeout=600
    )

    text = out.read_text()
    for field in PROVENANCE_FIELDS:
        assert field in text
    assert "bench.proactive --smoke --out" in text
    rows = {cells[0]: cells[1:] for cells in table_rows(text)}
    assert {"model", "most popular", "latest event", "rule list"} <= set(rows)
    for name in ("model", "most popular", "latest event", "rule list"):
        top1, top3, offered, right, served = (float(cell.rstrip("%")) for cell in rows[name])
        assert 0 <= top1 <= top3 <= 100 and 0 <= served <= offered <= 100
    assert "threshold **0." in text
    assert model.is_file()
