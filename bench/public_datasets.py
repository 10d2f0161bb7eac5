"""BANKING77 and CLINC150 (banking and credit_cards with out-of-scope queries) as Rasa NLU data.

The data sets are read-only in ../shared/datasets (see its README). Only training splits are
ever written out as Rasa training data; validation and test texts go to the parser as they are.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from common.environment import PROJECT_ROOT

# The shared, read-only copy beside the project; DATASETS_DIR points elsewhere if needed.
DATASETS_DIR = Path(os.environ.get("DATASETS_DIR") or PROJECT_ROOT.parent / "shared" / "datasets")
CLINC_DOMAINS = ("banking", "credit_cards")
# CLINC150 labels its out-of-scope queries "oos"; they are trained as an intent of their own.
OUT_OF_SCOPE = "oos"

# A smoke run: a few intents and a few examples each, enough to exercise every step.
SMOKE_INTENTS_PER_DOMAIN = 3
SMOKE_TRAIN, SMOKE_VAL, SMOKE_TEST = 8, 4, 4
SMOKE_OOS_TRAIN, SMOKE_OOS_VAL, SMOKE_OOS_TEST = 8, 6, 10

Example = tuple[str, str]


@dataclass
class Dataset:
    name: str
    train: list[Example]
    test: list[Example]
    # CLINC only: the split on which the out-of-scope threshold is chosen.
    val: list[Example] = field(default_factory=list)
    out_of_scope: str | None = None

    @property
    def intents(self) -> list[str]:
        return sorted({intent for _, intent in self.train})


def _first_per_intent(examples: list[Example], intents: list[str], count: int) -> list[Example]:
    taken: dict[str, int] = {}
    kept = []
    for text, intent in examples:
        if intent in intents and taken.get(intent, 0) < count:
            taken[intent] = taken.get(intent, 0) + 1
            kept.append((text, intent))
    return kept


def _read_csv(path: Path) -> list[Example]:
    # Some texts span lines: only a CSV parser reads them right.
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def banking77(smoke: bool = False, root: Path = DATASETS_DIR) -> Dataset:
    train = _read_csv(root / "banking77" / "train.csv")
    test = _read_csv(root / "banking77" / "test.csv")
    if smoke:
        intents = sorted({intent for _, intent in train})[: 2 * SMOKE_INTENTS_PER_DOMAIN]
        train = _first_per_intent(train, intents, SMOKE_TRAIN)
        test = _first_per_intent(test, intents, SMOKE_TEST)
    return Dataset("banking77", train, test)


def clinc150(smoke: bool = False, root: Path = DATASETS_DIR) -> Dataset:
    data = json.loads((root / "clinc150" / "data_full.json").read_text())
    domains = json.loads((root / "clinc150" / "domains.json").read_text())
    intents = sorted(intent for domain in CLINC_DOMAINS for intent in domains[domain])
    if smoke:
        intents = sorted(
            intent
            for domain in CLINC_DOMAINS
            for intent in sorted(domains[domain])[:SMOKE_INTENTS_PER_DOMAIN]
        )
    sizes = (
        ((SMOKE_TRAIN, SMOKE_OOS_TRAIN), (SMOKE_VAL, SMOKE_OOS_VAL), (SMOKE_TEST, SMOKE_OOS_TEST))
        if smoke
        else ((None, None),) * 3
    )
    splits = []
    for split, (per_intent, oos_count) in zip(("train", "val", "test"), sizes, strict=True):
        in_scope = [(text, intent) for text, intent in data[split] if intent in intents]
        oos = [(text, OUT_OF_SCOPE) for text, _ in data[f"oos_{split}"]]
        if per_intent is not None:
            in_scope = _first_per_intent(in_scope, intents, per_intent)
            oos = oos[:oos_count]
        splits.append(in_scope + oos)
    train, val, test = splits
    return Dataset("clinc150", train, test, val, OUT_OF_SCOPE)


def load(name: str, smoke: bool = False) -> Dataset:
    return {"banking77": banking77, "clinc150": clinc150}[name](smoke)


# Rasa reads [text](entity), [text]{...} and [text][...] inside an example as entity markup.
_MARKUP = re.compile(r"[\[\]]")


def training_text(text: str) -> str:
    """One line of Rasa training data: whitespace (line breaks too) collapsed, no brackets."""
    return _MARKUP.sub(lambda match: "(" if match.group() == "[" else ")", " ".join(text.split()))


def write_rasa_nlu(examples: list[Example], path: Path) -> Path:
    """Writes the examples as Rasa 3 NLU YAML, one block per intent."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in examples:
        line = training_text(text)
        if line and line not in by_intent.setdefault(intent, []):
            by_intent[intent].append(line)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in by_intent[intent]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
