"""Intent and entity quality of the whole NLU pipeline on held-out examples, from one parse of
each.

Intents are scored as `rasa test nlu` scores them (Rasa's own metrics function, and the
FallbackClassifier's choice undone so that it does not hide the intent it overrode). Entities
are not: `rasa test nlu` scores trainable extractors one by one and leaves pretrained ones
(the spaCy entity ruler that finds amounts, dates and references) out, so it cannot say how
well the assistant as a whole finds entities. Here an entity counts as found only when its
type and exact span match the annotation. One process loads the model once for both (two
`rasa` processes took twice the start-up).

    .venv/bin/python -m tooling.parse_evaluation --model M --data test_data.yml --out DIR

DIR gets intent_report.json and intent_errors.json (as `rasa test nlu` writes them) and
entity_report.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

Span = tuple[str, int, int]


def _spans(entities: list[dict[str, Any]]) -> set[Span]:
    return {(e["entity"], int(e["start"]), int(e["end"])) for e in entities or []}


def entity_report(pairs: list[tuple[str, set[Span], set[Span]]]) -> dict[str, Any]:
    """Per-entity and micro-averaged precision, recall and F1 of (text, gold, predicted)."""
    counts: dict[str, Counter[str]] = {}
    misses = []
    for text, gold, predicted in pairs:
        for label in {span[0] for span in gold | predicted}:
            tally = counts.setdefault(label, Counter())
            gold_here = {s for s in gold if s[0] == label}
            predicted_here = {s for s in predicted if s[0] == label}
            tally["tp"] += len(gold_here & predicted_here)
            tally["fp"] += len(predicted_here - gold_here)
            tally["fn"] += len(gold_here - predicted_here)
        if gold != predicted:
            misses.append(
                {
                    "text": text,
                    "missed": sorted(gold - predicted),
                    "wrong": sorted(predicted - gold),
                }
            )
    report: dict[str, Any] = {label: _scores(tally) for label, tally in sorted(counts.items())}
    report["micro avg"] = _scores(sum(counts.values(), Counter()))
    report["misses"] = misses
    return report


def _scores(tally: Counter[str]) -> dict[str, float]:
    tp, fp, fn = tally["tp"], tally["fp"], tally["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1-score": f1, "support": tp + fn}


def intent_report(parsed: list[tuple[str, str, dict[str, Any]]]) -> tuple[dict, list[dict]]:
    """The intent report and errors of (text, annotated intent, predicted intent)."""
    from rasa.model_testing import get_evaluation_metrics

    report, *_ = get_evaluation_metrics(
        [intent for _, intent, _ in parsed],
        [prediction.get("name") for _, _, prediction in parsed],
        output_dict=True,
    )
    errors = [
        {"text": text, "intent": intent, "intent_prediction": prediction}
        for text, intent, prediction in parsed
        if prediction.get("name") != intent
    ]
    return report, errors


async def _parse_all(model: Path, data: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(example, parse) for every example, the fallback's choice undone in the parse."""
    from rasa.core.agent import Agent
    from rasa.nlu.classifiers import fallback_classifier
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    pairs = []
    for example in load_data(str(data)).nlu_examples:
        parsed = await agent.parse_message(example.get("text"))
        if fallback_classifier.is_fallback_classifier_prediction(parsed):
            parsed = fallback_classifier.undo_fallback_prediction(parsed)
        pairs.append((example.as_dict(), parsed))
    return pairs


def evaluate(model: Path, data: Path, out: Path) -> None:
    pairs = asyncio.run(_parse_all(model, data))
    intents, errors = intent_report(
        [
            (example["text"], example.get("intent"), parsed.get("intent") or {})
            for example, parsed in pairs
        ]
    )
    entities = entity_report(
        [
            (example["text"], _spans(example.get("entities")), _spans(parsed.get("entities")))
            for example, parsed in pairs
        ]
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "intent_report.json").write_text(json.dumps(intents, indent=2))
    (out / "intent_errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False))
    (out / "entity_report.json").write_text(json.dumps(entities, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    evaluate(args.model, args.data, args.out)


if __name__ == "__main__":
    main()
