"""A customer's history as the proactive model reads it: profile, back-end events, sessions.

One JSON object a line (the format `services.sandbox.asking` writes; a real deployment exports
the same from its back end and its conversations):
``{"customer_id", "history_starts", "profile": {"segment", "preferred_language",
"customer_since", "products"}, "events": [{"kind", "occurred_at"}], "sessions": [{"opened_at",
"question"}]}``. Other keys (the generator's causes) are ignored: the model never sees why a
question was asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Profile:
    segment: str
    preferred_language: str
    customer_since: date
    products: frozenset[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            segment=data["segment"],
            preferred_language=data["preferred_language"],
            customer_since=date.fromisoformat(data["customer_since"]),
            products=frozenset(data["products"]),
        )


@dataclass(frozen=True)
class Event:
    kind: str
    occurred_at: datetime


@dataclass(frozen=True)
class Session:
    opened_at: datetime
    question: str


@dataclass(frozen=True)
class History:
    customer_id: str
    profile: Profile
    # Since when the events and sessions are known: a customer's history before it is unknown,
    # not empty.
    history_starts: datetime
    events: tuple[Event, ...]  # oldest first
    sessions: tuple[Session, ...]  # oldest first

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> History:
        return cls(
            customer_id=data["customer_id"],
            profile=Profile.from_json(data["profile"]),
            history_starts=utc_naive(data["history_starts"]),
            events=tuple(
                sorted(
                    (Event(e["kind"], utc_naive(e["occurred_at"])) for e in data["events"]),
                    key=lambda e: e.occurred_at,
                )
            ),
            sessions=tuple(
                sorted(
                    (Session(utc_naive(s["opened_at"]), s["question"]) for s in data["sessions"]),
                    key=lambda s: s.opened_at,
                )
            ),
        )


def utc_naive(text: str) -> datetime:
    """Times are UTC without a zone, as the back end sends them."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        raise ValueError(f"expected a UTC time without a zone, got {text!r}")
    return moment


def read_histories(path: Path) -> list[History]:
    with path.open(encoding="utf-8") as lines:
        return [History.from_json(json.loads(line)) for line in lines if line.strip()]


def histories_from(objects: Iterable[Mapping[str, Any]]) -> list[History]:
    return [History.from_json(each) for each in objects]
