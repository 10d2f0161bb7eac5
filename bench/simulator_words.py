"""How the simulator's customers word things: templates with choices and slots, then each
customer's own habits (typos, no capitals, fragments, fillers), never a training example.

A template is text with alternatives in braces, ``{hi|hello|}`` (an empty one: nothing), and
slots in angle brackets, ``<amount>``. ``Voice.say`` picks the alternatives, fills the slots,
puts the customer's habits on it, and draws again when the result is, once normalised, one of
the examples in data/nlu: the figures measure the assistant on words it was not trained on.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from common.environment import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
ALTERNATIVES = re.compile(r"\{([^{}]*)\}")
SLOT = re.compile(r"<([a-z_0-9]+)>")
# Rasa's entity markup in training examples: [text](entity) or [text]{"entity": ...}.
ENTITY_MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
DRAWS_BEFORE_PADDING = 30
# Keys next to each other on a QWERTY keyboard: a slip of the finger hits one of these.
NEIGHBOUR_KEYS = {
    row[i]: row[max(0, i - 1)] + row[i + 1 : i + 2]
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i in range(len(row))
}
# Added only when every draw so far was a training example; each makes the text new.
PADDINGS = ("quick question", "sorry to bother", "hello again", "one more thing", "ok so")


def normalise(text: str) -> str:
    """The form in which two texts count as the same message: entity markup dropped, lower
    case, single spaces, no punctuation at either end."""
    text = ENTITY_MARKUP.sub(r"\1", text).lower()
    return " ".join(text.split()).strip(string.punctuation + " ")


@lru_cache(maxsize=1)
def training_texts(nlu_dir: Path = NLU_DIR) -> frozenset[str]:
    """Every example of data/nlu (the designers' and the customers' words), normalised."""
    texts = set()
    for path in sorted(nlu_dir.rglob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in content.get("nlu") or []:
            if not isinstance(entry, dict):
                continue
            for row in str(entry.get("examples") or "").splitlines():
                if row.strip().startswith("- "):
                    texts.add(normalise(row.strip()[2:]))
    return frozenset(texts)


def expand(template: str, rng: random.Random, slots: dict[str, str] | None = None) -> str:
    """One wording of a template: an alternative of each choice, the slots filled."""
    text = ALTERNATIVES.sub(lambda match: rng.choice(match.group(1).split("|")), template)
    text = SLOT.sub(lambda match: (slots or {})[match.group(1)], text)
    return " ".join(text.split())


def with_typo(text: str, rng: random.Random) -> str:
    """One slip of the fingers in a word of four letters or more: a letter dropped, doubled,
    swapped with the next or hit beside."""
    words = text.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word) >= 4 and word.isalpha()]
    if not candidates:
        return text
    index = rng.choice(candidates)
    word = words[index]
    at = rng.randrange(1, len(word) - 1)
    slip = rng.choice(("drop", "double", "swap", "neighbour"))
    if slip == "drop":
        word = word[:at] + word[at + 1 :]
    elif slip == "double":
        word = word[:at] + word[at] + word[at:]
    elif slip == "swap":
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:
        keys = NEIGHBOUR_KEYS.get(word[at].lower())
        if keys:
            word = word[:at] + rng.choice(keys) + word[at + 1 :]
    words[index] = word
    return " ".join(words)


@dataclass(frozen=True)
class Voice:
    """One customer's habits of writing."""

    typo_rate: float  # chance of a slip in each message
    lower_case: bool  # never uses capitals
    drops_punctuation: bool
    filler_rate: float  # chance of "um", "pls", "thx" around a message

    @classmethod
    def draw(cls, rng: random.Random) -> Voice:
        return cls(
            typo_rate=rng.choice((0.0, 0.0, 0.15, 0.3, 0.5)),
            lower_case=rng.random() < 0.5,
            drops_punctuation=rng.random() < 0.4,
            filler_rate=rng.choice((0.0, 0.1, 0.3)),
        )

    def habits(self, text: str, rng: random.Random) -> str:
        if rng.random() < self.filler_rate:
            text = rng.choice(("um ", "so ", "hey ", "")) + text + rng.choice(("", " pls", " thx"))
        if rng.random() < self.typo_rate:
            text = with_typo(text, rng)
        if self.lower_case:
            text = text.lower()
        if self.drops_punctuation:
            text = text.rstrip("?.!")
        return text.strip()

    def say(
        self,
        templates: tuple[str, ...] | list[str],
        rng: random.Random,
        slots: dict[str, str] | None = None,
        habits: bool = True,
    ) -> str:
        """A message from one of the templates in this customer's way, never a text of the
        training data."""
        known = training_texts()
        text = ""
        for _ in range(DRAWS_BEFORE_PADDING):
            text = expand(rng.choice(list(templates)), rng, slots)
            if habits:
                text = self.habits(text, rng)
            if normalise(text) not in known:
                return text
        # Short templates can only be said a few ways, some of them trained: say more.
        while normalise(text) in known:
            text = f"{rng.choice(PADDINGS)}, {text}"
        return text
