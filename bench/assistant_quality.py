"""Training cost of the full assistant and its NLU quality on held-out data.

Trains from scratch (Rasa's training cache off), measures the model's size, then scores a
model trained on 80% of data/nlu against the other 20%. Writes bench/results/assistant.md.
Run: .venv/bin/python -m bench.assistant_quality [--smoke] [--out PATH]

--smoke trains an NLU-only model with config.yml on a few intents of data/nlu and scores their
held-out part, in about a minute, into bench/results/assistant-smoke.md: it proves the
benchmark's steps still work, its figures say nothing about the assistant.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rasa.shared.nlu.training_data.loading import load_data

from bench.report import provenance_fields, write_results
from common.environment import PROJECT_ROOT, process_environment
from tooling.model_cache import model_fingerprint, train
from tooling.nlu_evaluation import evaluate_heldout, score
from tooling.rasa_cli import log_tail, run_rasa

SMOKE_INTENTS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run (about a minute)")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/...)")
    args = parser.parse_args()
    # The code that ran is the code at the start, whatever is edited while the run goes on.
    made = provenance_fields()
    if args.smoke:
        print(smoke(made, args.out))
        return
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / f"bench-{model_fingerprint()}.tar.gz"
        seconds = train(
            model, Path(scratch) / "train.log", process_environment(RASA_MAX_CACHE_SIZE="0")
        )
        size_mb = model.stat().st_size / 1e6
    scores = evaluate_heldout(fresh=True)
    worst = "\n".join(f"| {name} | {f1:.3f} |" for name, f1 in scores.worst_intents)
    confusions = (
        "\n".join(
            f"| {expected} | {predicted} | {count} |"
            for expected, predicted, count in scores.confusions
        )
        or "| - | - | 0 |"
    )
    entity = f"{scores.entity_micro_f1:.3f}" if scores.entity_micro_f1 is not None else "n/a"
    by_type = "\n".join(
        f"| {name} | {f1:.3f} |" for name, f1 in sorted(scores.entity_f1_by_type.items())
    )
    body = f"""
## Training the full assistant (NLU and dialogue, from scratch)

| figure | value |
|---|---|
| training time | {seconds:.0f} s |
| model size | {size_mb:.1f} MB |

## NLU on a held-out 20% of data/nlu (split per intent, seed 42)

| figure | value |
|---|---|
| test examples | {scores.test_examples} |
| intent accuracy | {scores.intent_accuracy:.3f} |
| intent macro F1 | {scores.intent_macro_f1:.3f} |
| intent weighted F1 | {scores.intent_weighted_f1:.3f} |
| entity micro F1 (whole pipeline, exact spans) | {entity} |
| NLU-only training time on the 80% | {scores.training_seconds:.0f} s |

Entity F1 by type:

| entity | F1 |
|---|---|
{by_type}

Weakest intents (F1):

| intent | F1 |
|---|---|
{worst}

Most frequent confusions worth fixing:

| expected | predicted | count |
|---|---|---|
{confusions}
"""
    print(
        write_results(
            "assistant",
            "Assistant: training cost and held-out NLU quality",
            body,
            args.out,
            made=made,
        )
    )


def _rasa(work: Path, *arguments: str) -> None:
    log = work / f"{arguments[0]}-{arguments[1]}.log"
    if run_rasa(*arguments, log_path=log).returncode != 0:
        raise RuntimeError(f"rasa {' '.join(arguments[:2])} failed:\n{log_tail(log)}")


def smoke(made: dict[str, str], out: Path | None) -> Path:
    """The benchmark's steps on a few intents: split, train with config.yml, size, score."""
    data = load_data(str(PROJECT_ROOT / "data" / "nlu"))
    intents = sorted(data.intents)[:SMOKE_INTENTS]
    few = data.filter_training_examples(lambda example: example.get("intent") in intents)
    training, test = few.train_test_split(train_frac=0.8, random_seed=42)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "train.yml").write_text(training.nlu_as_yaml())
        (work / "test.yml").write_text(test.nlu_as_yaml())
        started = time.monotonic()
        _rasa(
            work,
            "train",
            "nlu",
            "--config",
            "config.yml",
            "--nlu",
            str(work / "train.yml"),
            "--out",
            str(work),
            "--fixed-model-name",
            "smoke",
        )
        seconds = time.monotonic() - started
        model = work / "smoke.tar.gz"
        size_mb = model.stat().st_size / 1e6
        score(model, work / "test.yml", work / "report", work / "score.log")
        report = json.loads((work / "report" / "intent_report.json").read_text())
    body = f"""
Smoke run: an NLU-only model trained with config.yml on {len(intents)} intents of data/nlu
({", ".join(intents)}), scored on their held-out 20%. It shows the benchmark still runs; the
figures say nothing about the assistant (`bench.assistant_quality` without `--smoke` does).

| figure | value |
|---|---|
| training examples | {len(training.intent_examples)} |
| NLU-only training time | {seconds:.0f} s |
| model size | {size_mb:.1f} MB |
| test examples | {int(report["macro avg"]["support"])} |
| intent accuracy | {report["accuracy"]:.3f} |
| intent macro F1 | {report["macro avg"]["f1-score"]:.3f} |
"""
    return write_results(
        "assistant-smoke",
        "Assistant: training cost and held-out NLU quality (smoke run)",
        body,
        out,
        made=made,
    )


if __name__ == "__main__":
    main()
