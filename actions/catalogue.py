"""The capability catalogue: what each product line can do, in customers' words.

Read from capabilities/<line>.yml. Actions use it to word clarifying questions and to
answer "what can you do?" from the product lines the assistant actually has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CAPABILITIES_DIR = Path(__file__).resolve().parent.parent / "capabilities"
GENERAL_LINE = "general"


@dataclass(frozen=True)
class ProductLine:
    name: str
    title: str
    summary: str
    intent_descriptions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    lines: tuple[ProductLine, ...]

    def describe(self, intent: str) -> str | None:
        for line in self.lines:
            if intent in line.intent_descriptions:
                return line.intent_descriptions[intent]
        return None

    def product_lines_in(self, domain_intents: list[str]) -> list[ProductLine]:
        """Product lines (not the general layer) that have at least one trained intent."""
        known = set(domain_intents)
        return [
            line
            for line in self.lines
            if line.name != GENERAL_LINE and known.intersection(line.intent_descriptions)
        ]


def load_catalogue(directory: Path = CAPABILITIES_DIR) -> Catalogue:
    lines = []
    for path in sorted(directory.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        lines.append(
            ProductLine(
                name=content.get("line", path.stem),
                title=content.get("title", path.stem.title()),
                summary=content.get("summary", ""),
                intent_descriptions={
                    str(intent): str(text)
                    for intent, text in (content.get("intents") or {}).items()
                },
            )
        )
    return Catalogue(lines=tuple(lines))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
