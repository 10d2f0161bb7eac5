"""What the assistant failed to serve: the customers' own (masked) words that ended in a
fallback, out of scope, an abandoned flow or a handoff, grouped by meaning into ranked
clusters, and a draft NLU file a designer edits into training data.

Meaning comes from the sentence encoder the NLU already has (all-MiniLM-L6-v2,
nlu/sentence_encoder.py). Distinct texts are grouped by average-linkage agglomerative
clustering on cosine similarity, cut where the average similarity between two groups falls
below SIMILARITY_THRESHOLD: a group holds texts that are, on average, that close to each
other, so one loose neighbour cannot chain two topics together as single linkage would.
Everything is ordered before it is clustered, so the same messages always give the same
clusters, labels and ranks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nlu.sentence_encoder import SentenceEncoder

FAILURE_OUTCOMES = ("fallback", "out_of_scope", "abandoned", "handoff")
# Chosen on the examples in tests/analytics/test_failures.py. With this encoder, paraphrases
# of one request score 0.35-0.85 pairwise ("someone used my card without asking" / "a charge
# on my card that wasn't me" 0.69, "pay the water bill" / "how do i settle my gas bill" 0.40),
# unrelated requests under 0.3, and different requests about the same thing in between ("freeze
# my card" / "someone used my card without asking" 0.49). Cut at an average of 0.45 the card
# requests join the fraud reports; at 0.55 three of eight paraphrase groups break up; at 0.5 every
# group of the examples holds together or splits off at most one of its phrasings, and only
# "freeze my card" and "raise my card limit" (0.53) share a cluster they should not: a designer
# splits such a draft intent, which is cheaper than finding a need hidden in another's cluster.
SIMILARITY_THRESHOLD = 0.5
# A cluster keeps this many examples, most frequent first: enough for a designer's first
# draft of an intent, few enough to read in the supervisors' table.
MAX_EXAMPLES = 10
# Agglomerative clustering holds every pair's distance: beyond this many distinct texts the
# rarest (each said no more often than the rarest kept) are left out of the grouping.
MAX_DISTINCT_TEXTS = 2000
LABEL_WORDS = 8
SLUG_WORDS = 5
DRAFT_HEADER = """\
# Draft intents from what customers said when the assistant could not serve them (the
# failure clusters, largest first). Rename each intent, merge or split them, drop what is not
# worth serving, then move the examples into data/nlu/<line>.yml and the intent into the
# line's capability. Every example is the customer's own masked text.
"""


@lru_cache(maxsize=1)
def _encoder() -> SentenceEncoder:
    # Imported here: loading TensorFlow and the weights takes seconds, paid only when
    # clusters are asked for.
    from nlu.sentence_encoder import SentenceEncoder

    return SentenceEncoder()


def _clean(text: str) -> str:
    return " ".join(text.split())


def failure_clusters(messages: Iterable[Mapping[str, Any]], limit: int = 20) -> list[dict]:
    """The `limit` largest groups of failed messages, largest first.

    Each message is a mapping with the customer's masked `text` and its `outcome`; messages
    with any other outcome (understood ones) are not failures and are skipped. Each cluster is
    `{"label", "count", "outcomes": {outcome: count}, "examples": [text, ...]}`.
    """
    counts: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = {}
    for message in messages:
        text, outcome = _clean(message["text"] or ""), message["outcome"]
        if not text or outcome not in FAILURE_OUTCOMES:
            continue
        counts[text] += 1
        outcomes.setdefault(text, Counter())[outcome] += 1
    texts = sorted(counts, key=lambda text: (-counts[text], text))[:MAX_DISTINCT_TEXTS]
    if not texts:
        return []
    vectors = _encoder().encode(texts)
    clusters = [
        _describe([texts[i] for i in members], vectors[members], counts, outcomes)
        for members in _group(vectors)
    ]
    clusters.sort(key=lambda cluster: (-cluster["count"], cluster["label"]))
    return clusters[:limit]


def _group(vectors: np.ndarray) -> list[list[int]]:
    """Indices of the texts in each group, in the order of the texts."""
    if len(vectors) == 1:
        return [[0]]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    assignment = fcluster(tree, t=1.0 - SIMILARITY_THRESHOLD, criterion="distance")
    groups: dict[int, list[int]] = {}
    for index, group in enumerate(assignment):
        groups.setdefault(int(group), []).append(index)
    return list(groups.values())


def _describe(
    texts: list[str],
    vectors: np.ndarray,
    counts: Counter[str],
    outcomes: dict[str, Counter[str]],
) -> dict:
    weights = np.array([counts[text] for text in texts], dtype=np.float64)
    centre = (vectors * weights[:, None]).sum(axis=0)
    closeness = vectors @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
    # The label is the text nearest the group's (frequency-weighted) centre: what the group
    # is about, in a customer's words.
    central = min(range(len(texts)), key=lambda i: (-round(float(closeness[i]), 6), texts[i]))
    examples = sorted(
        range(len(texts)),
        key=lambda i: (-counts[texts[i]], -round(float(closeness[i]), 6), texts[i]),
    )
    total: Counter[str] = Counter()
    for text in texts:
        total.update(outcomes[text])
    return {
        "label": _label(texts[central]),
        "count": int(weights.sum()),
        "outcomes": {outcome: total[outcome] for outcome in FAILURE_OUTCOMES if total[outcome]},
        "examples": [texts[i] for i in examples[:MAX_EXAMPLES]],
    }


def _label(text: str) -> str:
    words = text.lower().strip(" .!?").split()
    return " ".join(words[:LABEL_WORDS]) + (" …" if len(words) > LABEL_WORDS else "")


def _slug(label: str) -> str:
    words = re.findall(r"[a-z0-9]+", label.lower())
    return "_".join(words[:SLUG_WORDS])


def _example_line(text: str) -> str:
    # Rasa reads "[text](entity)", "[text]{...}" and "[text][...]" as entity annotations: a
    # customer's brackets are kept apart from what follows them so they stay plain text.
    return re.sub(r"\]([({\[])", r"] \1", _clean(text))


def draft_nlu(clusters: Sequence[Mapping[str, Any]]) -> str:
    """A Rasa 3.x NLU file with one `draft_<label>` intent per cluster, its examples, and a
    comment with its counts, for a designer to edit into training data."""
    lines = [DRAFT_HEADER.rstrip("\n"), 'version: "3.1"']
    if not clusters:
        return "\n".join([*lines, "nlu: []", ""])
    lines.append("nlu:")
    used: set[str] = set()
    for rank, cluster in enumerate(clusters, start=1):
        name = f"draft_{_slug(cluster['label']) or f'cluster_{rank}'}"
        if name in used:
            name = f"{name}_{rank}"
        used.add(name)
        outcome_counts = ", ".join(
            f"{outcome} {count}" for outcome, count in cluster["outcomes"].items()
        )
        examples = dict.fromkeys(_example_line(text) for text in cluster["examples"])
        lines += [
            f"# {cluster['count']} messages ({outcome_counts}): {_clean(cluster['label'])}",
            f"- intent: {name}",
            "  examples: |",
            *(f"    - {example}" for example in examples if example),
        ]
    return "\n".join(lines) + "\n"
