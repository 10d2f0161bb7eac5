"""The real-words benchmark: its mapping, the training data written from it, and a smoke run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import customer_words
from bench.public_datasets import DATASETS_DIR
from registry.catalogue import default_catalogue
from tests.benchmark_runs import run_benchmark

pytestmark = pytest.mark.bench


@pytest.fixture(scope="module")
def datasets() -> Path:
    if not all((DATASETS_DIR / name).is_dir() for name in ("banking77", "clinc150")):
        reason = f"the public data sets are not at {DATASETS_DIR} (set DATASETS_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires them")
        pytest.skip(reason)
    return DATASETS_DIR


def test_every_public_category_has_one_row_with_an_intent_we_have_and_a_reason(datasets: Path):
    mapping = customer_words.yaml.safe_load(customer_words.MAPPING_PATH.read_text())
    banking_categories = set(json.loads((datasets / "banking77" / "categories.json").read_text()))
    domains = json.loads((datasets / "clinc150" / "domains.json").read_text())
    clinc_categories = {c for domain in domains.values() for c in domain}

    assert set(mapping["banking77"]) == banking_categories
    assert set(domains["banking"]) | set(domains["credit_cards"]) <= set(mapping["clinc150"])
    assert set(mapping["clinc150"]) <= clinc_categories
    catalogue = default_catalogue()
    for dataset, rows in mapping.items():
        for category, row in rows.items():
            assert row["why"].strip(), f"{dataset} {category} has no reason"
            assert catalogue.describe(row["intent"]), f"{dataset} {category}: {row['intent']}?"


def test_the_committed_training_data_is_what_the_train_splits_give_and_holds_no_test_query(
    datasets: Path, tmp_path: Path
):
    data = customer_words.splits(customer_words.load_mapping(), datasets)

    customer_words.write_training_data(data["train"], tmp_path)

    committed = customer_words.TRAINING_DATA_DIR
    assert sorted(p.name for p in tmp_path.glob("*.yml")) == sorted(
        p.name for p in committed.glob("*.yml")
    )
    for path in tmp_path.glob("*.yml"):
        assert path.read_text() == (committed / path.name).read_text(), (
            f"data/nlu/customers/{path.name} differs from what `python -m "
            "bench.customer_words write-data` writes"
        )
    trained = {
        customer_words._normalised(line.strip().removeprefix("- "))
        for path in committed.glob("*.yml")
        for line in path.read_text().splitlines()
        if line.startswith("    - ")
    }
    held_out = data["test"] + data["validation"]
    assert not [q.text for q in held_out if customer_words._normalised(q.text) in trained]


def test_the_smoke_run_scores_the_trained_assistant_on_test_queries_of_every_kind(
    datasets: Path, tmp_path: Path
):
    out = tmp_path / "customer_words-smoke.md"

    run_benchmark("bench.customer_words", "measure", "--smoke", "--out", str(out), timeout=900)
    text = out.read_text()
    assert "bench.customer_words measure --smoke --out" in text
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in text.splitlines()
        if line.startswith("| ") and "---" not in line
    }
    assert int(rows["in-scope test queries"]) > 0
    for figure in (
        "right intent at once (top-1)",
        "no intent chosen at once (in scope)",
        "out-of-scope recall, CLINC150 oos_test",
        "out-of-scope recall, unserved categories",
    ):
        assert rows[figure].endswith("%"), figure
