"""Real customers' words: the whole assistant's NLU on public queries nobody here wrote.

BANKING77 and CLINC150 categories are mapped onto the assistant's intents in
bench/customer_words_mapping.yml (unserved categories count as out of scope). Three steps:

    .venv/bin/python -m bench.customer_words write-data  # train splits into data/nlu/customers/
    .venv/bin/python -m bench.customer_words calibrate   # fallback settings, on validation
    .venv/bin/python -m bench.customer_words measure     # test splits, into bench/results/

Only train splits become training data. BANKING77 has no validation split, so a tenth of its
train split (chosen by a hash of the text) is held out as one; CLINC150 has its own. Thresholds
are chosen on validation; the test splits are only ever parsed. Every figure comes from the
trained assistant's own model (config.yml as it is, FallbackClassifier included) and the
clarification action's own choice of buttons (actions/clarification.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from actions.clarification import OUT_OF_SCOPE_BELOW, Clarification, clarify, top_guesses
from bench import public_datasets
from bench.report import provenance_fields, write_results
from bench.worktree import checkout
from common.environment import PROJECT_ROOT, process_environment
from registry.catalogue import default_catalogue
from tooling.model_cache import ensure_model
from tooling.rasa_cli import log_tail

MAPPING_PATH = PROJECT_ROOT / "bench" / "customer_words_mapping.yml"
TRAINING_DATA_DIR = PROJECT_ROOT / "data" / "nlu" / "customers"
PARSED_CACHE = PROJECT_ROOT / ".cache" / "bench" / "customer_words"
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
# One in this many BANKING77 train texts is held out as its validation split.
VALIDATION_SHARE = 10
# Unserved categories teach the out_of_scope intent; a sample of each keeps training short.
OUT_OF_SCOPE_PER_BANKING77_CATEGORY = 30
OUT_OF_SCOPE_PER_CLINC150_CATEGORY = 12
SMOKE_PER_GROUP = 6
CALIBRATION_ROWS_SHOWN = 12
# Settings this close to the best on validation (top-1 plus out-of-scope recall) count as tied.
CALIBRATION_TIE = 0.0025
# Rows in a results table of confusions and missed examples.
SHOWN = 12

TARGETS = {
    "top1": 0.96,
    "not_understood": 0.02,
    "right_button": 0.99,
    "oos_recall_clinc": 0.92,
}

LICENCES = {
    "banking77": "BANKING77 (Casanueva et al., 2020), CC BY 4.0",
    "clinc150": "CLINC150 (Larson et al., 2019), CC BY 3.0",
}


@dataclass(frozen=True)
class Query:
    text: str
    intent: str
    # banking77, clinc150, or clinc150-oos (CLINC150's own out-of-scope queries)
    source: str
    category: str


def stable_share(text: str, modulus: int) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % modulus


def load_mapping(path: Path = MAPPING_PATH) -> dict[str, dict[str, str]]:
    mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        dataset: {str(category): row["intent"] for category, row in rows.items()}
        for dataset, rows in mapping.items()
    }


def _sample(queries: list[Query], per_category: int) -> list[Query]:
    """The same few queries of each category on every run: the lowest hashes."""
    by_category: dict[str, list[Query]] = {}
    for query in queries:
        by_category.setdefault(query.category, []).append(query)
    kept = []
    for category in sorted(by_category):
        ordered = sorted(
            by_category[category], key=lambda q: hashlib.sha1(q.text.encode()).digest()
        )
        kept += ordered[:per_category]
    return kept


def splits(
    mapping: dict[str, dict[str, str]], root: Path = public_datasets.DATASETS_DIR
) -> dict[str, list[Query]]:
    """train, validation and test, every query labelled with the assistant's intent."""
    banking = public_datasets.banking77(root=root)
    served_banking = mapping["banking77"]

    def banking_query(text: str, category: str) -> Query:
        return Query(text, served_banking.get(category, OUT_OF_SCOPE), "banking77", category)

    banking_train = [banking_query(t, c) for t, c in banking.train]
    held_out = [q for q in banking_train if stable_share(q.text, VALIDATION_SHARE) == 0]
    banking_train = [q for q in banking_train if stable_share(q.text, VALIDATION_SHARE) != 0]
    banking_test = [banking_query(t, c) for t, c in banking.test]

    data = json.loads((root / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    served_clinc = mapping["clinc150"]

    def clinc(split: str) -> list[Query]:
        queries = [
            Query(text, served_clinc.get(category, OUT_OF_SCOPE), "clinc150", category)
            for text, category in data[split]
        ]
        return queries + [
            Query(text, OUT_OF_SCOPE, "clinc150-oos", "oos") for text, _ in data[f"oos_{split}"]
        ]

    def trained(queries: list[Query], per_unserved_category: int) -> list[Query]:
        served = [q for q in queries if q.intent != OUT_OF_SCOPE or q.source == "clinc150-oos"]
        unserved = [q for q in queries if q.intent == OUT_OF_SCOPE and q.source != "clinc150-oos"]
        return served + _sample(unserved, per_unserved_category)

    validation = held_out + clinc("val")
    test = banking_test + clinc("test")
    # The data sets repeat a few texts across their splits: those are never trained on.
    scored = {_normalised(q.text) for q in validation + test}
    train = trained(banking_train, OUT_OF_SCOPE_PER_BANKING77_CATEGORY) + trained(
        clinc("train"), OUT_OF_SCOPE_PER_CLINC150_CATEGORY
    )
    return {
        "train": [q for q in train if _normalised(q.text) not in scored],
        "validation": validation,
        "test": test,
    }


# -- training data ------------------------------------------------------------------------------
def _designers_texts() -> set[str]:
    texts = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                texts.add(_normalised(line.strip().removeprefix("- ")))
    return texts


def _normalised(text: str) -> str:
    return " ".join(public_datasets.training_text(text).lower().split())


def write_training_data(queries: list[Query], directory: Path = TRAINING_DATA_DIR) -> list[Path]:
    """One file per product line; texts said under two intents, or by a designer, are left out."""
    catalogue = default_catalogue()
    intents_of: dict[str, set[str]] = {}
    for query in queries:
        intents_of.setdefault(_normalised(query.text), set()).add(query.intent)
    designers = _designers_texts()
    by_line: dict[str, dict[str, dict[str, list[str]]]] = {}
    for query in queries:
        key = _normalised(query.text)
        if len(intents_of[key]) > 1 or key in designers or not key:
            continue
        product_line = catalogue.line_of_intent(query.intent)
        line = product_line.name if product_line else "general"
        dataset = "clinc150" if query.source.startswith("clinc150") else "banking77"
        texts = by_line.setdefault(line, {}).setdefault(query.intent, {}).setdefault(dataset, [])
        text = public_datasets.training_text(query.text)
        if text not in texts:
            texts.append(text)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.yml"):
        stale.unlink()
    written = []
    for line, intents in sorted(by_line.items()):
        lines = [
            "# Customers' own words for this product line's intents: the train splits of",
            "# BANKING77 (Casanueva et al., 2020; CC BY 4.0) and CLINC150 (Larson et al., 2019;",
            "# CC BY 3.0), categories mapped in bench/customer_words_mapping.yml. Written by",
            "# `.venv/bin/python -m bench.customer_words write-data`; designers' own examples",
            f"# go in data/nlu/{line}.yml. The entities in these texts are not annotated.",
            'version: "3.1"',
            "nlu:",
        ]
        for intent, datasets in sorted(intents.items()):
            for dataset, texts in sorted(datasets.items()):
                lines += [
                    f"- intent: {intent}",
                    "  metadata:",
                    f"    source: {LICENCES[dataset]}",
                    "    entities_annotated: false",
                    "  examples: |",
                ]
                lines += [f"    - {text}" for text in texts]
        path = directory / f"{line}.yml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


# -- parsing with the trained assistant -----------------------------------------------------------
def train_from_scratch(root: Path, target: Path) -> tuple[float, float]:
    """Trains the assistant whose files are in ``root``: wall and CPU seconds it took.

    CPU seconds change less than wall time when something else shares the machine.
    """
    log_path = target.with_suffix(".log")
    started = time.monotonic()
    cpu_before = _children_cpu_seconds()
    with log_path.open("w") as log:
        result = subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain"]
            + ["domain.yml", "--data", "data", "--out", str(target.parent)]
            + ["--fixed-model-name", target.name.removesuffix(".tar.gz")],
            cwd=root,
            env=process_environment(RASA_MAX_CACHE_SIZE="0"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise RuntimeError(f"training failed:\n{log_tail(log_path)}")
    return time.monotonic() - started, _children_cpu_seconds() - cpu_before


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse(
    model: Path, texts: list[str], work: Path, root: Path = PROJECT_ROOT
) -> list[dict[str, Any]]:
    """Every text through the model as configured, in a subprocess (TensorFlow stays out).

    ``root`` is the checkout whose NLU components the model was trained with.
    """
    work.mkdir(parents=True, exist_ok=True)
    texts_path, out_path = work / "texts.json", work / "parsed.json"
    texts_path.write_text(json.dumps(texts))
    jobs = work / "jobs.json"
    jobs.write_text(
        json.dumps(
            [{"model": str(model), "parts": [{"texts": str(texts_path), "out": str(out_path)}]}]
        )
    )
    log_path = work / "parse.log"
    with log_path.open("w") as log:
        result = subprocess.run(
            [sys.executable, "-m", "bench.nlu_parse", str(jobs)],
            cwd=root,
            env=process_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise RuntimeError(f"parsing failed:\n{log_tail(log_path)}")
    return json.loads(out_path.read_text())


def what_the_customer_gets(
    parsed: dict[str, Any], out_of_scope_below: float = OUT_OF_SCOPE_BELOW
) -> Clarification:
    """The assistant's answer to one parse: an intent, buttons, out of scope or not understood.

    The catalogue's vague requests ("a payment went wrong") are answered with buttons for the
    operations they may mean (action_disambiguate), so they count as buttons here too.
    """
    catalogue = default_catalogue()
    intent = parsed["as_configured"]
    if intent == OUT_OF_SCOPE:
        return Clarification(out_of_scope=True)
    if intent in catalogue.disambiguation:
        return Clarification(intent=intent, buttons=catalogue.disambiguation[intent])
    if intent != FALLBACK:
        return Clarification(intent=intent)
    return clarify(parsed["ranking"], catalogue, out_of_scope_below)


def what_the_customer_got_before(parsed: dict[str, Any]) -> Clarification:
    """The same before this benchmark existed: every unsure message got the top guesses."""
    if parsed["as_configured"] != FALLBACK:
        return what_the_customer_gets(parsed)
    guesses = top_guesses(parsed["ranking"], default_catalogue())
    return Clarification(buttons=tuple(intent for intent, _ in guesses))


def score(
    queries: list[Query],
    parsed: list[dict[str, Any]],
    out_of_scope_below: float = OUT_OF_SCOPE_BELOW,
    before: bool = False,
) -> dict[str, Any]:
    answers = [
        what_the_customer_got_before(p) if before else what_the_customer_gets(p, out_of_scope_below)
        for p in parsed
    ]
    in_scope = [(q, a) for q, a in zip(queries, answers, strict=True) if q.intent != OUT_OF_SCOPE]
    outside = [(q, a) for q, a in zip(queries, answers, strict=True) if q.intent == OUT_OF_SCOPE]

    def share(pairs: list, test) -> float:
        return sum(bool(test(q, a)) for q, a in pairs) / len(pairs) if pairs else float("nan")

    def by_source(source: str) -> list:
        return [(q, a) for q, a in in_scope if q.source == source]

    clarified = [(q, a) for q, a in in_scope if a.buttons and a.intent != q.intent]
    figures: dict[str, Any] = {
        "in_scope": len(in_scope),
        "top1": share(in_scope, lambda q, a: a.intent == q.intent),
        "not_at_once": share(in_scope, lambda q, a: a.intent != q.intent and not a.intent),
        "clarified": len(clarified) / len(in_scope) if in_scope else float("nan"),
        "not_understood": share(in_scope, lambda q, a: a.intent is None and not a.buttons),
        "right_button": share(clarified, lambda q, a: q.intent in a.buttons),
        "served": share(in_scope, lambda q, a: a.intent == q.intent or q.intent in a.buttons),
        "wrongly_out_of_scope": share(in_scope, lambda q, a: a.out_of_scope),
    }
    for source in ("banking77", "clinc150"):
        figures[f"top1_{source}"] = share(by_source(source), lambda q, a: a.intent == q.intent)
    rejected = lambda q, a: a.out_of_scope  # noqa: E731
    figures["oos_recall_clinc"] = share(
        [p for p in outside if p[0].source == "clinc150-oos"], rejected
    )
    figures["oos_recall_unserved"] = share(
        [p for p in outside if p[0].source != "clinc150-oos"], rejected
    )
    figures["oos_counts"] = {
        "clinc150-oos": sum(q.source == "clinc150-oos" for q, _ in outside),
        "unserved": sum(q.source != "clinc150-oos" for q, _ in outside),
    }
    confusions = Counter(
        (q.intent, a.intent or ("out of scope" if a.out_of_scope else "buttons"))
        for q, a in in_scope
        if a.intent != q.intent
    )
    figures["confusions"] = confusions.most_common(SHOWN)
    figures["missed"] = [
        (q.text, q.intent, a.intent or ("out of scope" if a.out_of_scope else "buttons"))
        for q, a in in_scope
        if a.intent != q.intent and q.intent not in a.buttons
    ][:SHOWN]
    return figures


# -- calibration ----------------------------------------------------------------------------------
def with_fallback(parsed: dict[str, Any], threshold: float, ambiguity: float) -> dict[str, Any]:
    """The parse as FallbackClassifier with these settings would have left it."""
    ranking = parsed["ranking"]
    top = ranking[0]["confidence"] if ranking else 0.0
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    falls = not ranking or top < threshold or top - second < ambiguity
    return {**parsed, "as_configured": FALLBACK if falls else ranking[0]["name"]}


def calibrate(queries: list[Query], parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pair of settings on a grid with its validation figures, best first.

    The settings: FallbackClassifier's threshold and ambiguity threshold (below them, no
    intent is chosen at once) and
    the clarification's out-of-scope bound (below it, the out-of-scope answer; between the two,
    buttons). Best: the most customers answered right at once (in-scope top-1 plus
    out-of-scope recall on CLINC150's own out-of-scope queries); among settings within
    CALIBRATION_TIE of the best, the widest band of buttons, so that an uncertain customer is
    offered choices rather than turned away.
    """
    rows = []
    for threshold, ambiguity in product(
        [round(0.05 * step, 2) for step in range(2, 13)], (0.0, 0.02, 0.05, 0.1)
    ):
        adjusted = [with_fallback(p, threshold, ambiguity) for p in parsed]
        for below in [round(0.05 * step, 2) for step in range(0, 7)]:
            if below > threshold:
                continue
            figures = score(queries, adjusted, below)
            rows.append(
                {"threshold": threshold, "ambiguity": ambiguity, "out_of_scope_below": below}
                | figures
            )
    best = max(r["top1"] + r["oos_recall_clinc"] for r in rows)

    def rank(row: dict[str, Any]) -> tuple:
        tied = row["top1"] + row["oos_recall_clinc"] >= best - CALIBRATION_TIE
        band = row["threshold"] - row["out_of_scope_below"]
        return (not tied, -band if tied else -(row["top1"] + row["oos_recall_clinc"]))

    return sorted(rows, key=rank)


# -- reporting -----------------------------------------------------------------------------------
def training_text(training: dict[str, tuple[float, float]]) -> str:
    if not training:
        return ""
    rows = "\n".join(
        f"| {label} | {wall:.0f} s | {cpu:.0f} s |" for label, (wall, cpu) in training.items()
    )
    return (
        "Training the whole assistant from scratch (NLU and dialogue), one after the other:\n\n"
        f"| assistant | training time | CPU time |\n|---|---|---|\n{rows}\n\n"
    )


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def measured_table(results: dict[str, dict[str, Any]]) -> str:
    labels = list(results)
    rows = [
        ("in-scope test queries", "in_scope", str),
        ("right intent at once (top-1)", "top1", percent),
        ("  BANKING77", "top1_banking77", percent),
        ("  CLINC150", "top1_clinc150", percent),
        ("no intent chosen at once (in scope)", "not_at_once", percent),
        ("  answered with buttons to choose from", "clarified", percent),
        (
            "  answered 'I didn't understand' or 'not something I can help with'",
            "not_understood",
            percent,
        ),
        ("right operation among the buttons (of those given buttons)", "right_button", percent),
        ("right operation at once or among the buttons", "served", percent),
        ("  of which 'not something I can help with'", "wrongly_out_of_scope", percent),
        ("out-of-scope recall, CLINC150 oos_test", "oos_recall_clinc", percent),
        ("out-of-scope recall, unserved categories", "oos_recall_unserved", percent),
    ]
    lines = ["| figure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for title, key, shown in rows:
        lines.append(
            f"| {title} | " + " | ".join(shown(results[label][key]) for label in labels) + " |"
        )
    return "\n".join(lines)


def targets_table(figures: dict[str, Any]) -> str:
    checks = [
        ("top-1 at least 96%", percent(figures["top1"]), figures["top1"] >= TARGETS["top1"]),
        (
            "in-scope answered 'I didn't understand' (or out of scope) at most 2%",
            percent(figures["not_understood"]),
            figures["not_understood"] <= TARGETS["not_understood"],
        ),
        (
            "right operation among the buttons at least 99%",
            percent(figures["right_button"]),
            figures["right_button"] >= TARGETS["right_button"],
        ),
        (
            "out-of-scope recall on CLINC150's oos_test at least 92%",
            percent(figures["oos_recall_clinc"]),
            figures["oos_recall_clinc"] >= TARGETS["oos_recall_clinc"],
        ),
    ]
    lines = ["| target | figure | met |", "|---|---|---|"]
    lines += [f"| {title} | {figure} | {'yes' if met else 'no'} |" for title, figure, met in checks]
    return "\n".join(lines)


def details(figures: dict[str, Any]) -> str:
    lines = ["| expected | answered | count |", "|---|---|---|"]
    lines += [
        f"| {expected} | {answered} | {count} |"
        for (expected, answered), count in figures["confusions"]
    ]
    lines += ["", "Examples the customer could not reach at once or by a button:", ""]
    lines += ["| query | expected | answered |", "|---|---|---|"]
    lines += [
        f"| {text.replace('|', '/')} | {expected} | {answered} |"
        for text, expected, answered in figures["missed"]
    ]
    return "\n".join(lines)


def validation_parses(queries: list[Query]) -> list[dict[str, Any]]:
    """The trained assistant's parses of the validation queries, kept per model for reuse."""
    model = ensure_model()
    kept = PARSED_CACHE / f"validation-{len(queries)}-{model.name.removesuffix('.tar.gz')}.json"
    if kept.exists():
        return json.loads(kept.read_text())
    with tempfile.TemporaryDirectory() as scratch:
        parsed = parse(model, [q.text for q in queries], Path(scratch))
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(parsed))
    return parsed


def smoke_queries(queries: list[Query]) -> list[Query]:
    groups: dict[tuple[str, str], list[Query]] = {}
    for query in queries:
        group = "in scope" if query.intent != OUT_OF_SCOPE else "out of scope"
        groups.setdefault((query.source, group), []).append(query)
    return [q for key in sorted(groups) for q in _sample(groups[key], SMOKE_PER_GROUP)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["write-data", "calibrate", "measure"])
    parser.add_argument("--smoke", action="store_true", help="a few queries of each kind (CI)")
    parser.add_argument(
        "--before", metavar="REVISION", help="also train and score the assistant at REVISION"
    )
    parser.add_argument(
        "--time-training",
        action="store_true",
        help="train today's assistant from scratch too, and record both training times",
    )
    parser.add_argument("--out", type=Path, help="where the results go (default bench/results)")
    arguments = parser.parse_args()
    made = provenance_fields()
    mapping = load_mapping()
    data = splits(mapping)
    if arguments.step == "write-data":
        for path in write_training_data(data["train"]):
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
        return
    if arguments.step == "calibrate":
        queries = smoke_queries(data["validation"]) if arguments.smoke else data["validation"]
        for row in calibrate(queries, validation_parses(queries))[:CALIBRATION_ROWS_SHOWN]:
            print(
                f"threshold {row['threshold']:.2f}, ambiguity {row['ambiguity']:.2f}, below "
                f"{row['out_of_scope_below']:.2f}: top-1 {percent(row['top1'])}, "
                f"not understood {percent(row['not_understood'])}, "
                f"served {percent(row['served'])}, right button {percent(row['right_button'])}, "
                f"oos {percent(row['oos_recall_clinc'])} / {percent(row['oos_recall_unserved'])}"
            )
        return
    queries = smoke_queries(data["test"]) if arguments.smoke else data["test"]
    texts = [q.text for q in queries]
    training: dict[str, tuple[float, float]] = {}
    before = None
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if arguments.before:
            # Today's parser, which also reports the ranking the buttons are chosen from. The
            # checkout's own code builds its own spaCy pipeline into its own .cache.
            with checkout(arguments.before, ["bench/nlu_parse.py"]) as old_root:
                old_model = work / "before.tar.gz"
                print(f"training the assistant as it was at {arguments.before}", flush=True)
                seconds = train_from_scratch(old_root, old_model)
                if arguments.time_training:
                    training[arguments.before] = seconds
                before = parse(old_model, texts, work / "before", old_root)
        if arguments.time_training:
            model = work / "now.tar.gz"
            print("training the assistant as it is", flush=True)
            training["now"] = train_from_scratch(PROJECT_ROOT, model)
        else:
            model = ensure_model()
        parsed = parse(model, texts, work / "now")
    results = {"now": score(queries, parsed)}
    if before is not None:
        results[f"before ({arguments.before})"] = score(queries, before, before=True)
    body = (
        training_text(training)
        + "The whole trained assistant (config.yml as it is, FallbackClassifier included); the\n"
        "clarification's buttons as actions/clarification.py chooses them.\n"
        f"Test queries: {len(queries)} ({results['now']['in_scope']} in scope; out of scope:"
        f" {results['now']['oos_counts']['clinc150-oos']} of CLINC150's oos_test and"
        f" {results['now']['oos_counts']['unserved']} of unserved categories).\n\n"
        + measured_table(results)
        + "\n\n## Targets\n\n"
        + targets_table(results["now"])
        + "\n\n## Where it goes wrong\n\n"
        + details(results["now"])
        + "\n"
    )
    out = arguments.out or (
        Path(tempfile.mkdtemp()) / "customer_words.md" if arguments.smoke else None
    )
    path = write_results(
        "customer_words", "Real customers' words: the assistant on public queries", body, out, made
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
