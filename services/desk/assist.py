"""Agent assist: replies and facts worth saying next, ranked against what the agent is typing.

Candidates are the assistant's own responses (the `responses:` of the Rasa domain, with their
`{placeholders}` filled from the handoff's slots and profile; ones that cannot be filled are
left out) and the customer's data as readable lines. They are ranked by BM25 over simple word
stems, with the agent's draft as the query, or the customer's last message while the draft is
empty.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.desk.profile_facts import profile_lines, profile_values, readable

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    """
a about after again all am an and any are as at be because been before being both but by can
could did do does doing don down during each few for from further had has have having he her
here hers him his how i if in into is it its just me more most my no nor not now of off on
once only or other our ours out over own please same she should so some such than that the
their them then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself hi hello ok
okay thanks thank want need like get got know tell let s t m re ve ll d
""".split()
)
BM25_K1, BM25_B = 1.5, 0.75
CUSTOMER_DATA = "customer data"
SUGGESTIONS = 5


def stem(word: str) -> str:
    """Just enough stemming for "unlocked" to meet "unlock", "cards" "card", and "declined"
    "decline"."""
    for suffix, shortest in (("ing", 6), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= shortest and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) >= 4 else word


def terms(text: str) -> list[str]:
    return [stem(word) for word in WORD.findall(text.lower()) if word not in STOP_WORDS]


@dataclass(frozen=True)
class Response:
    name: str
    text: str
    placeholders: frozenset[str]


def domain_files(domain_dir: str | None) -> list[Path]:
    if domain_dir:
        return sorted(Path(domain_dir).rglob("*.yml"))
    return [PROJECT_ROOT / "domain.yml", *sorted((PROJECT_ROOT / "domain").rglob("*.yml"))]


@lru_cache(maxsize=4)
def assistant_responses(domain_dir: str | None) -> tuple[Response, ...]:
    """Every response text of the domain, read once per process."""
    found: dict[tuple[str, str], Response] = {}
    for path in domain_files(domain_dir):
        if not path.is_file():
            continue
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (content.get("responses") or {}).items():
            # *_item responses are fragments the assistant puts in lists, not replies.
            if name.endswith("_item"):
                continue
            for variation in variations or []:
                text = variation.get("text") if isinstance(variation, dict) else None
                if isinstance(text, str) and text.strip():
                    found[(name, text)] = Response(
                        name, text.strip(), frozenset(PLACEHOLDER.findall(text))
                    )
    return tuple(found.values())


@dataclass(frozen=True)
class Suggestion:
    text: str
    source: str


def candidates(
    responses: Iterable[Response], slots: dict[str, Any], profile: dict[str, Any] | None
) -> list[Suggestion]:
    values = {
        **profile_values(profile),
        **{
            name: readable(value)
            for name, value in slots.items()
            if value not in (None, "") and not isinstance(value, dict | list)
        },
    }
    found = []
    for response in responses:
        if not response.placeholders <= values.keys():
            continue
        text = PLACEHOLDER.sub(lambda match: values[match.group(1)], response.text)
        found.append(Suggestion(text, f"assistant response {response.name}"))
    found.extend(Suggestion(line, CUSTOMER_DATA) for line in profile_lines(profile))
    return found


def rank(query: str, documents: list[Suggestion], limit: int = SUGGESTIONS) -> list[Suggestion]:
    wanted = set(terms(query))
    if not wanted or not documents:
        return []
    bags = [Counter(terms(document.text)) for document in documents]
    average_length = sum(sum(bag.values()) for bag in bags) / len(bags) or 1.0
    frequency = Counter(term for bag in bags for term in set(bag) if term in wanted)
    idf = {
        term: math.log(1 + (len(bags) - count + 0.5) / (count + 0.5))
        for term, count in frequency.items()
    }
    scored = []
    for index, bag in enumerate(bags):
        length = sum(bag.values())
        score = sum(
            idf[term]
            * bag[term]
            * (BM25_K1 + 1)
            / (bag[term] + BM25_K1 * (1 - BM25_B + BM25_B * length / average_length))
            for term in wanted
            if bag[term]
        )
        if score > 0:
            scored.append((score, index))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    ranked: list[Suggestion] = []
    for _, index in scored:
        if documents[index].text not in (seen.text for seen in ranked):
            ranked.append(documents[index])
        if len(ranked) == limit:
            break
    return ranked


def suggest(
    domain_dir: str | None,
    draft: str,
    last_customer_message: str,
    slots: dict[str, Any],
    profile: dict[str, Any] | None,
) -> list[Suggestion]:
    query = draft if draft.strip() else last_customer_message
    return rank(query, candidates(assistant_responses(domain_dir), slots, profile))
