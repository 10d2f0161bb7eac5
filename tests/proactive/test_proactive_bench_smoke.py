"""`python -m bench.proactive --smoke` still generates, trains, evaluates and records its figures
where it is told (a benchmark's harness, never a speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from common.environment import PROJECT_ROOT, process_environment

pytestmark = pytest.mark.bench


def test_the_proactive_benchmark_records_the_model_beside_three_baselines(tmp_path: Path) -> None:
    out, model = tmp_path / "proactive-smoke.md", tmp_path / "proactive-smoke.joblib"
    result = subprocess.run(
        [sys.executable, "-m", "bench.proactive", "--smoke", "--out", str(out)]
        + ["--model", str(model)],
        cwd=PROJECT_ROOT,
        env=process_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    text = out.read_text()
    for field in ("- date: ", "- commit: ", "- cores: ", "- command: `"):
        assert field in text
    assert "bench.proactive --smoke --out" in text
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines()
            if line.startswith("| ") and "---" not in line
        )
    }
    assert {"model", "most popular", "latest event", "rule list"} <= set(rows)
    for name in ("model", "most popular", "latest event", "rule list"):
        top1, top3, offered, right, served = (float(cell.rstrip("%")) for cell in rows[name])
        assert 0 <= top1 <= top3 <= 100 and 0 <= served <= offered <= 100
    assert "threshold **0." in text
    assert model.is_file()
