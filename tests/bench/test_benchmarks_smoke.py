"""Each benchmark's smoke-sized run still works and writes its figures where it is told.

Benchmarks are not timed tests: these check the rows the results files get, never a speed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.public_datasets import DATASETS_DIR
from bench.security_probes import PROBES
from tests.benchmark_runs import PROVENANCE_FIELDS, run_benchmark, table_rows

pytestmark = pytest.mark.bench


def require_public_datasets() -> None:
    """Skipped where the data sets are missing, except under CI=true, which has them."""
    if all((DATASETS_DIR / name).is_dir() for name in ("banking77", "clinc150")):
        return
    reason = f"the public data sets are not at {DATASETS_DIR} (set DATASETS_DIR)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires them")
    pytest.skip(reason)


def test_assistant_quality_smoke_trains_scores_and_records_its_figures(tmp_path: Path):
    out = tmp_path / "assistant-smoke.md"

    run_benchmark("bench.assistant_quality", "--smoke", "--out", str(out), timeout=600)

    text = out.read_text()
    for field in PROVENANCE_FIELDS:
        assert field in text
    assert "bench.assistant_quality --smoke --out" in text
    assert "Smoke run" in text
    figures = {row[0]: row[1] for row in table_rows(text) if len(row) == 2}
    assert int(figures["training examples"]) > int(figures["test examples"]) > 0
    assert figures["NLU-only training time"].endswith(" s")
    assert figures["model size"].endswith(" MB")
    assert 0 <= float(figures["intent accuracy"]) <= 1
    assert 0 <= float(figures["intent macro F1"]) <= 1


def test_nlu_public_smoke_scores_each_pipeline_and_data_set_and_shares_one_results_file(
    tmp_path: Path,
):
    require_public_datasets()
    out = tmp_path / "nlu_public-smoke.md"

    # Two selections, as a stock run of hours and a project run share the machine: each
    # pipeline and each data set once (a training is what costs), one results file.
    for dataset, pipeline in (("banking77", "project"), ("clinc150", "stock")):
        run_benchmark(
            "bench.nlu_public",
            *("--smoke", "--dataset", dataset, "--pipeline", pipeline, "--out", str(out)),
            timeout=900,
        )

    text = out.read_text()
    for field in PROVENANCE_FIELDS:
        assert field in text
    assert "bench.nlu_public --smoke --dataset clinc150 --pipeline stock --out" in text
    assert "Smoke run" in text
    rows = [row for row in table_rows(text) if row[0].startswith(("project: ", "stock: "))]
    sources = sorted(row[-1].split(",")[0] for row in rows)
    assert [row[0].split(":")[0] for row in rows] == ["project", "stock"]
    # The first selection's row is kept and said to be recorded; the second's is this run's.
    assert sources[0].startswith("recorded ") and sources[1] == "this run"
    for row in rows:
        assert any(cell.endswith(" s") for cell in row), row  # training time
        assert any(cell.endswith(" MB") for cell in row), row  # peak memory
        assert any(cell.endswith(" ms") for cell in row), row  # parse time
    records = json.loads(out.with_suffix(".json").read_text())
    for dataset, pipeline in (("banking77", "project"), ("clinc150", "stock")):
        record = records[dataset][pipeline]
        assert record["smoke"] is True
        assert record["training_seconds"] > 0 and record["peak_rss_mb"] > 0
        assert record["parse_ms_median"] > 0
    # The header says what the code was when the latest selection ran, as its row does.
    assert f"- commit: {records['clinc150']['stock']['provenance']['commit']}\n" in text
    assert 0 <= records["banking77"]["project"]["accuracy"] <= 1
    assert 0 <= records["banking77"]["project"]["macro_f1"] <= 1
    clinc = records["clinc150"]["stock"]
    assert 0 <= clinc["in_scope_accuracy"] <= 1 and 0 <= clinc["oos_recall"] <= 1
    assert 0 <= clinc["threshold"] <= 1

    # A run suspended on the way (bench/measure.py) has its pause taken out and noted;
    # rewriting the report keeps every recorded figure and says where each came from.
    clinc.update(measured_training_seconds=clinc["training_seconds"] + 600, paused_seconds=600)
    out.with_suffix(".json").write_text(json.dumps(records))
    run_benchmark("bench.nlu_public", "--smoke", "--report-only", "--out", str(out), timeout=120)
    rewritten = out.read_text()
    assert "(pause taken out, see below)" in rewritten
    assert "suspended for 600 s" in rewritten
    rows = [row for row in table_rows(rewritten) if row[0].startswith(("project: ", "stock: "))]
    assert len(rows) == 2 and all(row[-1].startswith("recorded ") for row in rows)


@pytest.mark.e2e
def test_security_smoke_records_an_outcome_for_each_probe_of_its_subset(tmp_path: Path):
    out = tmp_path / "security-smoke.md"

    run_benchmark("bench.security", "--smoke", "--out", str(out), timeout=900)

    text = out.read_text()
    for field in PROVENANCE_FIELDS:
        assert field in text
    assert "bench.security --smoke --out" in text
    rows = [row for row in table_rows(text) if row[0][:1].isdigit()]
    refs = [row[1].split(" ", 1)[0] for row in rows]
    assert refs == [probe.ref for probe in PROBES if probe.smoke]
    # Held or fell, whatever the tree's fixes: each probe gets to a verdict (an error is the
    # harness failing to get to its point) and says what it saw.
    for row in rows:
        assert row[3].strip("*") in ("held", "fell"), row
        assert row[4], row
