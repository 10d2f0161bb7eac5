"""NLU quality on public data (BANKING77, CLINC150), the project's pipeline beside stock Rasa's.

For each data set and pipeline an NLU-only model is trained with `rasa train nlu` on the
training split (wall time and peak memory of the training process measured), then loaded once
with rasa's Agent to parse every validation and test message one at a time (bench/nlu_parse.py).

- BANKING77: test accuracy and macro F1 over its 77 intents.
- CLINC150, domains banking and credit_cards plus the out-of-scope queries (trained as an
  intent of their own, `oos`): a query counts as out of scope when the model says `oos` or its
  confidence is below a threshold chosen on the validation split alone, the one that maximises
  in-scope accuracy + out-of-scope recall there. Reported on the test split.

Pipelines: "project" is config.yml's NLU pipeline without its entity extractors (the data sets
have no entities) and without FallbackClassifier (the out-of-scope threshold is chosen here);
"stock" is bench/stock_config.yml, the config.yml that `rasa init --no-prompt` writes (its empty
pipeline means Rasa's default one: DIET, 100 epochs). Stock DIET takes about two hours on
BANKING77 on two cores, so a run of one pipeline keeps the other's figures from the last
recorded run, with that run's date and commit.

    .venv/bin/python -m bench.nlu_public [--dataset banking77|clinc150|all]
        [--pipeline project|stock|both] [--smoke] [--stock-epochs N] [--out PATH]

Writes bench/results/nlu_public.md and the figures behind it to bench/results/nlu_public.json;
--smoke (a few intents, a few examples each, DIET 1 epoch) writes nlu_public-smoke.* instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

from bench import public_datasets
from bench.measure import run_measured
from bench.report import RESULTS_DIR, provenance_fields, write_results
from common.environment import PROJECT_ROOT, process_environment
from tooling.rasa_cli import log_tail

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "nlu_public"
STOCK_CONFIG = PROJECT_ROOT / "bench" / "stock_config.yml"
PROJECT_CONFIG = PROJECT_ROOT / "config.yml"
DATASETS = ("banking77", "clinc150")
PIPELINES = ("project", "stock")
STOCK_DIET_EPOCHS = 100
# Components of config.yml left out here: entity extraction (no entities in these data sets)
# and FallbackClassifier (the out-of-scope threshold is chosen on validation data instead).
PROJECT_LEFT_OUT = {
    "SpacyEntityExtractor",
    "nlu.learned_entity_extractor.LearnedEntityExtractor",
    "EntitySynonymMapper",
    "FallbackClassifier",
}
SMOKE_STOCK_EPOCHS = 1


# -- configurations ------------------------------------------------------------------------------
def rasa_package_file(*parts: str) -> Path:
    spec = importlib.util.find_spec("rasa")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def check_stock_config() -> None:
    """bench/stock_config.yml must say what the installed Rasa's `rasa init` writes."""
    scaffold = rasa_package_file("cli", "initial_project", "config.yml")
    if yaml.safe_load(STOCK_CONFIG.read_text()) != yaml.safe_load(scaffold.read_text()):
        raise SystemExit(
            f"{STOCK_CONFIG} no longer matches {scaffold}: copy it again from "
            f"what `rasa init --no-prompt` writes"
        )


def fallback_settings() -> dict[str, float]:
    """config.yml's FallbackClassifier, for the figures at the project's own settings."""
    pipeline = yaml.safe_load(PROJECT_CONFIG.read_text())["pipeline"]
    fallback = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    return {
        "threshold": float(fallback["threshold"]),
        "ambiguity_threshold": float(fallback.get("ambiguity_threshold", 0.1)),
    }


def write_project_config(path: Path) -> str:
    config = yaml.safe_load(PROJECT_CONFIG.read_text())
    pipeline = [c for c in config["pipeline"] if c["name"] not in PROJECT_LEFT_OUT]
    kept = {key: config[key] for key in ("recipe", "language", "assistant_id") if key in config}
    path.write_text(yaml.safe_dump({**kept, "pipeline": pipeline}, sort_keys=False))
    return "config.yml's NLU pipeline (no entity extractors, no FallbackClassifier)"


def write_stock_config(path: Path, epochs: int | None) -> str:
    """The `rasa init` config; with ``epochs``, Rasa's default pipeline with DIET's changed."""
    if epochs is None:
        # A copy: Rasa writes the pipeline it filled in back into the file as comments.
        shutil.copyfile(STOCK_CONFIG, path)
        return f"`rasa init` default (DIET, {STOCK_DIET_EPOCHS} epochs)"
    config = yaml.safe_load(
        rasa_package_file("engine", "recipes", "config_files", "default_config.yml").read_text()
    )
    for component in config["pipeline"]:
        if component["name"] in {"DIETClassifier", "ResponseSelector"}:
            component["epochs"] = epochs
    config.pop("policies", None)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return f"`rasa init` default, DIET {epochs} epoch{'s' if epochs != 1 else ''}"


# -- training and parsing -----------------------------------------------------------------------
def train(
    dataset: public_datasets.Dataset, pipeline: str, work: Path, stock_epochs: int | None
) -> tuple[Path, dict[str, Any]]:
    data = public_datasets.write_rasa_nlu(dataset.train, work / "data" / f"{dataset.name}.yml")
    config_path = work / "config" / f"{dataset.name}-{pipeline}.yml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    described = (
        write_project_config(config_path)
        if pipeline == "project"
        else write_stock_config(config_path, stock_epochs)
    )
    model = work / "models" / f"{dataset.name}-{pipeline}.tar.gz"
    model.unlink(missing_ok=True)
    log_path = work / "logs" / f"train-{dataset.name}-{pipeline}.log"
    print(
        f"training {pipeline} on {dataset.name} ({len(dataset.train)} examples, "
        f"log: {log_path.relative_to(PROJECT_ROOT)})",
        flush=True,
    )
    measured = run_measured(
        [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "nlu",
            "--config",
            str(config_path),
            "--nlu",
            str(data),
            "--out",
            str(model.parent),
            "--fixed-model-name",
            model.name.removesuffix(".tar.gz"),
        ],
        log_path,
        # From scratch: nothing reused from Rasa's training cache.
        process_environment(RASA_MAX_CACHE_SIZE="0"),
    )
    if measured.returncode != 0 or not model.exists():
        raise RuntimeError(f"training failed (log: {log_path}):\n{log_tail(log_path)}")
    print(f"  trained in {measured.seconds:.0f} s, peak {measured.peak_rss_mb:.0f} MB", flush=True)
    figures = {
        "config": described,
        "training_seconds": measured.seconds,
        "peak_rss_mb": measured.peak_rss_mb,
    }
    if measured.paused_seconds:
        figures.update(
            paused_seconds=measured.paused_seconds,
            measured_training_seconds=measured.seconds + measured.paused_seconds,
        )
    return model, figures


def parse(jobs: list[dict[str, str]], work: Path) -> None:
    """All models of the run in one process (loading Rasa once), each model loaded once."""
    jobs_path = work / "parse-jobs.json"
    jobs_path.write_text(json.dumps(jobs))
    log_path = work / "logs" / "parse.log"
    print(
        f"parsing with {len(jobs)} model(s) (log: {log_path.relative_to(PROJECT_ROOT)})", flush=True
    )
    measured = run_measured(
        [sys.executable, "-m", "bench.nlu_parse", str(jobs_path)], log_path, process_environment()
    )
    if measured.returncode != 0:
        raise RuntimeError(f"parsing failed (log: {log_path}):\n{log_tail(log_path)}")


# -- scores -------------------------------------------------------------------------------------
def macro_f1(gold: list[str], predicted: list[str | None]) -> float:
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def out_of_scope_scores(
    gold: list[str], parsed: list[dict[str, Any]], oos: str, rejected
) -> tuple[float, float]:
    """In-scope accuracy and out-of-scope recall, ``rejected(parse)`` saying "out of scope"."""
    in_scope = [(g, p) for g, p in zip(gold, parsed, strict=True) if g != oos]
    outside = [p for g, p in zip(gold, parsed, strict=True) if g == oos]
    accuracy = sum(not rejected(p) and p["intent"] == g for g, p in in_scope) / len(in_scope)
    recall = sum(rejected(p) for p in outside) / len(outside)
    return accuracy, recall


def below(threshold: float, oos: str):
    return lambda p: p["intent"] == oos or p["confidence"] < threshold


def choose_threshold(gold: list[str], parsed: list[dict[str, Any]], oos: str) -> float:
    """The threshold maximising in-scope accuracy + out-of-scope recall; the lowest on ties."""
    candidates = sorted({0.0, *(p["confidence"] for p in parsed)})
    return max(
        candidates, key=lambda t: (sum(out_of_scope_scores(gold, parsed, oos, below(t, oos))), -t)
    )


def as_configured(pipeline: str, oos: str):
    """Out of scope as each pipeline's own fallback would decide, untuned."""
    if pipeline == "stock":  # its FallbackClassifier ran inside the model
        return lambda p: p["as_configured"] in {"nlu_fallback", oos}
    settings = fallback_settings()  # config.yml's FallbackClassifier, applied as Rasa does
    return lambda p: (
        p["intent"] == oos
        or p["confidence"] < settings["threshold"]
        or p["confidence"] - p["runner_up"] < settings["ambiguity_threshold"]
    )


def score(
    dataset: public_datasets.Dataset, pipeline: str, parsed: dict[str, list]
) -> dict[str, Any]:
    test_gold = [intent for _, intent in dataset.test]
    times = sorted(p["seconds"] * 1000 for p in parsed["test"])
    figures: dict[str, Any] = {
        "intents": len(dataset.intents),
        "train_examples": len(dataset.train),
        "test_examples": len(dataset.test),
        "parse_ms_median": statistics.median(times),
        "parse_ms_p95": times[min(len(times) - 1, int(0.95 * len(times)))],
    }
    if dataset.out_of_scope is None:
        predicted = [p["intent"] for p in parsed["test"]]
        figures["accuracy"] = sum(p == g for p, g in zip(predicted, test_gold, strict=True)) / len(
            test_gold
        )
        figures["macro_f1"] = macro_f1(test_gold, predicted)
        return figures
    oos = dataset.out_of_scope
    val_gold = [intent for _, intent in dataset.val]
    threshold = choose_threshold(val_gold, parsed["val"], oos)
    val_accuracy, val_recall = out_of_scope_scores(
        val_gold, parsed["val"], oos, below(threshold, oos)
    )
    accuracy, recall = out_of_scope_scores(test_gold, parsed["test"], oos, below(threshold, oos))
    own_accuracy, own_recall = out_of_scope_scores(
        test_gold, parsed["test"], oos, as_configured(pipeline, oos)
    )
    figures.update(
        val_examples=len(dataset.val),
        threshold=threshold,
        val_in_scope_accuracy=val_accuracy,
        val_oos_recall=val_recall,
        in_scope_accuracy=accuracy,
        oos_recall=recall,
        configured_in_scope_accuracy=own_accuracy,
        configured_oos_recall=own_recall,
    )
    return figures


# -- report -------------------------------------------------------------------------------------
def _source(record: dict[str, Any], run: dict[str, str]) -> str:
    made = record["provenance"]
    if made == run:
        return "this run"
    return f"recorded {made['date']}, commit {made['commit']}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _label(pipeline: str, record: dict[str, Any]) -> str:
    return f"{pipeline}: {record['config']}"


def _common(record: dict[str, Any]) -> str:
    paused = " (pause taken out, see below)" if record.get("paused_seconds") else ""
    return (
        f"{record['training_seconds']:.0f} s{paused} | {record['peak_rss_mb']:.0f} MB | "
        f"{record['parse_ms_median']:.1f} / {record['parse_ms_p95']:.1f} ms"
    )


def _pauses(records: dict[str, dict[str, Any]]) -> str:
    """A note for each training run that was suspended and whose pause was taken out."""
    notes = [
        f"- {dataset}, {pipeline}: the training run was suspended for "
        f"{r['paused_seconds']:.0f} s; its training time is the wall time, "
        f"{r['measured_training_seconds']:.0f} s, less that pause."
        for dataset, pair in records.items()
        for pipeline, r in pair.items()
        if r.get("paused_seconds")
    ]
    return "\n".join(["## Paused runs", "", *notes, ""]) if notes else ""


def render(records: dict[str, dict[str, Any]], run: dict[str, str], smoke: bool) -> str:
    parts = []
    if smoke:
        parts.append(
            "**Smoke run**: a few intents and a few examples each, stock DIET "
            f"{SMOKE_STOCK_EPOCHS} epoch. It checks that the harness works; its "
            "figures mean nothing.\n"
        )
    banking = records.get("banking77", {})
    if banking:
        any_record = next(iter(banking.values()))
        parts.append(f"""## BANKING77: train on train, score on test

{any_record["intents"]} intents, {any_record["train_examples"]} training and \
{any_record["test_examples"]} test messages.

| pipeline | test accuracy | macro F1 | training time | peak training memory \
| parse per message (median / p95) | figures from |
|---|---|---|---|---|---|---|""")
        for pipeline in PIPELINES:
            if pipeline in banking:
                r = banking[pipeline]
                parts.append(
                    f"| {_label(pipeline, r)} | {_pct(r['accuracy'])} | "
                    f"{r['macro_f1']:.3f} | {_common(r)} | {_source(r, run)} |"
                )
        parts.append("")
    clinc = records.get("clinc150", {})
    if clinc:
        any_record = next(iter(clinc.values()))
        parts.append(f"""## CLINC150 banking + credit_cards, with out-of-scope queries

{any_record["intents"] - 1} intents plus `oos`: {any_record["train_examples"]} training, \
{any_record["val_examples"]} validation and {any_record["test_examples"]} test messages \
(out-of-scope ones included). Threshold chosen on validation only, maximising in-scope accuracy \
+ out-of-scope recall.

| pipeline | threshold (from val) | in-scope accuracy | out-of-scope recall \
| val: in-scope acc. / oos recall | training time | peak training memory \
| parse per message (median / p95) | figures from |
|---|---|---|---|---|---|---|---|---|""")
        for pipeline in PIPELINES:
            if pipeline in clinc:
                r = clinc[pipeline]
                parts.append(
                    f"| {_label(pipeline, r)} | {r['threshold']:.3f} | "
                    f"{_pct(r['in_scope_accuracy'])} | {_pct(r['oos_recall'])} | "
                    f"{_pct(r['val_in_scope_accuracy'])} / {_pct(r['val_oos_recall'])} | "
                    f"{_common(r)} | {_source(r, run)} |"
                )
        settings = fallback_settings()
        parts.append(f"""
Untuned, at each pipeline's own fallback setting (project: config.yml's FallbackClassifier, \
threshold {settings["threshold"]}, ambiguity {settings["ambiguity_threshold"]}; stock: its \
default FallbackClassifier, threshold 0.3, ambiguity 0.1):

| pipeline | in-scope accuracy | out-of-scope recall |
|---|---|---|""")
        for pipeline in PIPELINES:
            if pipeline in clinc:
                r = clinc[pipeline]
                parts.append(
                    f"| {pipeline} | {_pct(r['configured_in_scope_accuracy'])} | "
                    f"{_pct(r['configured_oos_recall'])} |"
                )
        parts.append("")
    parts.extend(note for note in (_pauses(records), _targets(records)) if note)
    parts.append("""## How the figures are made

- Training: `rasa train nlu` in a subprocess with Rasa's training cache off; wall time of the
  whole command (Python and Rasa start-up included, the same for both pipelines) and the peak
  resident memory of its process tree, polled every 0.2 s. CPU only; nothing is downloaded.
- Parsing: each model loaded once with `rasa.core.agent.Agent`, a few untimed warm-up parses,
  then every test message parsed one at a time; the median and 95th percentile of those parses.
- The project's parse time is that of the pipeline benchmarked here; the assistant's own
  model also runs its entity extractors and FallbackClassifier on every message.
- A pipeline's answer is its classifier's best intent; stock's FallbackClassifier is set aside
  for the tuned figures, so both pipelines are scored the same way.
- The data: ../shared/datasets (README there). Nothing is trained on a test split; thresholds
  are chosen on CLINC150's validation split only.""")
    return "\n".join(parts)


def _targets(records: dict[str, dict[str, Any]]) -> str:
    rows = []
    project = records.get("banking77", {}).get("project")
    if project:
        rows.append(
            (
                "BANKING77 test accuracy at least 94%",
                _pct(project["accuracy"]),
                project["accuracy"] >= 0.94,
            )
        )
    clinc = records.get("clinc150", {})
    if "project" in clinc:
        recall = clinc["project"]["oos_recall"]
        rows.append(("CLINC150 out-of-scope recall above 80%", _pct(recall), recall > 0.80))
    if {"project", "stock"} <= clinc.keys():
        for key, name in (
            ("in_scope_accuracy", "in-scope accuracy"),
            ("oos_recall", "out-of-scope recall"),
        ):
            mine, theirs = clinc["project"][key], clinc["stock"][key]
            rows.append(
                (f"CLINC150 {name} above stock's", f"{_pct(mine)} vs {_pct(theirs)}", mine > theirs)
            )
    for dataset in DATASETS:
        pair = records.get(dataset, {})
        if {"project", "stock"} <= pair.keys():
            ratio = pair["stock"]["training_seconds"] / pair["project"]["training_seconds"]
            rows.append(
                (
                    f"{dataset}: training at least 10 times faster than stock",
                    f"{ratio:.1f}x",
                    ratio >= 10,
                )
            )
    if not rows:
        return ""
    lines = ["## Targets of the benchmark issue", "", "| target | figure | met |", "|---|---|---|"]
    lines += [f"| {name} | {figure} | {'yes' if met else 'no'} |" for name, figure, met in rows]
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------------
def recorded(records_path: Path, smoke: bool) -> dict[str, dict[str, Any]]:
    """The figures already recorded; those of a smoke run and a real one are never mixed."""
    records = json.loads(records_path.read_text()) if records_path.exists() else {}
    return {
        name: kept
        for name, pair in records.items()
        if (kept := {p: r for p, r in pair.items() if r.get("smoke") == smoke})
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=[*DATASETS, "all"], default="all")
    parser.add_argument("--pipeline", choices=[*PIPELINES, "both"], default="both")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few intents and examples, DIET 1 epoch: checks the harness",
    )
    parser.add_argument(
        "--stock-epochs",
        type=int,
        default=None,
        help=f"DIET epochs for stock (default: rasa init's {STOCK_DIET_EPOCHS})",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the results file from the recorded figures, run nothing",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default bench/results/nlu_public[-smoke].md)",
    )
    args = parser.parse_args()
    check_stock_config()
    stock_epochs = args.stock_epochs
    if args.smoke and stock_epochs is None:
        stock_epochs = SMOKE_STOCK_EPOCHS
    out = args.out or RESULTS_DIR / f"nlu_public{'-smoke' if args.smoke else ''}.md"
    out = out.resolve()
    records_path = out.with_suffix(".json")
    datasets = DATASETS if args.dataset == "all" else (args.dataset,)
    pipelines = PIPELINES if args.pipeline == "both" else (args.pipeline,)
    # One folder per selection, so that a stock run of hours and a project run can share the
    # machine without overwriting each other's data, models or parse jobs.
    work = WORK_DIR / ("smoke" if args.smoke else "full") / f"{args.dataset}-{args.pipeline}"
    run = provenance_fields()
    title = "NLU on public data: the project's pipeline and stock Rasa's"
    if args.report_only:
        records = recorded(records_path, args.smoke)
        print(write_results("nlu_public", title, render(records, run, args.smoke), out, made=run))
        return

    loaded = {name: public_datasets.load(name, args.smoke) for name in datasets}
    trained: dict[tuple[str, str], dict[str, Any]] = {}
    jobs = []
    for name, dataset in loaded.items():
        splits = {"test": dataset.test, **({"val": dataset.val} if dataset.val else {})}
        for split, examples in splits.items():
            (work / "texts").mkdir(parents=True, exist_ok=True)
            (work / "texts" / f"{name}-{split}.json").write_text(
                json.dumps([text for text, _ in examples])
            )
        for pipeline in pipelines:
            model, figures = train(dataset, pipeline, work, stock_epochs)
            trained[(name, pipeline)] = figures
            jobs.append(
                {
                    "model": str(model),
                    "parts": [
                        {
                            "texts": str(work / "texts" / f"{name}-{split}.json"),
                            "out": str(work / "parsed" / f"{name}-{pipeline}-{split}.json"),
                        }
                        for split in splits
                    ],
                }
            )
    (work / "parsed").mkdir(parents=True, exist_ok=True)
    parse(jobs, work)

    # Read at the end, not the start: another run may have recorded figures meanwhile.
    records = recorded(records_path, args.smoke)
    for (name, pipeline), figures in trained.items():
        dataset = loaded[name]
        splits = ["test", *(["val"] if dataset.val else [])]
        parsed = {
            split: json.loads((work / "parsed" / f"{name}-{pipeline}-{split}.json").read_text())
            for split in splits
        }
        records.setdefault(name, {})[pipeline] = {
            "provenance": run,
            "smoke": args.smoke,
            **figures,
            **score(dataset, pipeline, parsed),
        }

    records_path.parent.mkdir(parents=True, exist_ok=True)
    records_path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    print(write_results("nlu_public", title, render(records, run, args.smoke), out, made=run))


if __name__ == "__main__":
    main()
