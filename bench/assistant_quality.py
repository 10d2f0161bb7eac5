"""Training cost of the full assistant and its NLU quality on held-out data.

Trains from scratch (Rasa's training cache off), measures the model's size, then scores a
model trained on 80% of data/nlu against the other 20%. Writes bench/results/assistant.md.
Run: .venv/bin/python -m bench.assistant_quality
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.report import provenance_fields, write_results
from common.environment import process_environment
from tooling.model_cache import model_fingerprint, train
from tooling.nlu_evaluation import evaluate_heldout


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    # The code that ran is the code at the start, whatever is edited while the run goes on.
    made = provenance_fields()
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
            "assistant", "Assistant: training cost and held-out NLU quality", body, made=made
        )
    )


if __name__ == "__main__":
    main()
