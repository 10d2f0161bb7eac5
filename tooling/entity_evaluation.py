"""Entity quality of the whole NLU pipeline on held-out examples.

`rasa test nlu` scores trainable extractors one by one and leaves pretrained ones (the spaCy
entity ruler that finds amounts, dates and references) out, so it cannot say how well the
assistant as a whole finds entities. This parses every held-out example with the trained
model and counts an entity as found only when its type and exact span match the annotation.

    .venv/bin/python -m tooling.entity_evaluation --model M --data test_data.yml --out R.json
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


async def _parse_all(model: Path, data: Path) -> list[tuple[str, set[Span], set[Span]]]:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    pairs = []
    for example in load_data(str(data)).nlu_examples:
        text = example.get("text")
        parsed = await agent.parse_message(text)
        pairs.append((text, _spans(example.get("entities")), _spans(parsed.get("entities"))))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    report = entity_report(asyncio.run(_parse_all(args.model, args.data)))
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
