"""The sandbox customers' asking behaviour is noisy: what a proactive guess is measured on is
not a lookup of the latest event (services/sandbox/asking.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from proactive.baselines import EVENT_QUESTION
from registry.catalogue import load_catalogue
from services.sandbox.asking import generate_histories, histories
from services.sandbox.seed import digest, generate
from tests.proactive.conftest import REFERENCE_DATE


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sessions(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for line in lines for s in line["sessions"]]


def test_every_question_asked_is_an_intent_of_the_assistants_catalogue(smoke_lines) -> None:
    asked = {s["question"] for s in sessions(smoke_lines)}
    assert asked <= set(load_catalogue().intents())
    assert len(asked) > 40


def test_many_questions_have_nothing_to_do_with_any_event(smoke_lines) -> None:
    causes = Counter(s["cause"] for s in sessions(smoke_lines))
    total = sum(causes.values())
    assert 0.3 < causes["unprompted"] / total < 0.9
    # Customers with no event at all still ask.
    quiet = [line for line in smoke_lines if not line["events"]]
    assert quiet and any(line["sessions"] for line in quiet)


def test_some_events_are_never_asked_about(smoke_lines) -> None:
    events = {(line["customer_id"], e["event_id"]) for line in smoke_lines for e in line["events"]}
    asked = {
        (line["customer_id"], s["event_id"])
        for line in smoke_lines
        for s in line["sessions"]
        if s["cause"] == "event"
    }
    assert 0.2 < 1 - len(asked) / len(events) < 0.8


def test_questions_follow_events_after_delays_that_vary(smoke_lines) -> None:
    delays: dict[str, list[float]] = defaultdict(list)
    for line in smoke_lines:
        events = {e["event_id"]: e for e in line["events"]}
        for s in line["sessions"]:
            if s["cause"] == "event":
                event = events[s["event_id"]]
                hours = (at(s["opened_at"]) - at(event["occurred_at"])).total_seconds() / 3600
                delays[event["kind"]].append(hours)
    every = [hours for kind in delays.values() for hours in kind]
    assert min(every) >= 0
    assert min(every) < 1 and max(every) > 72
    # A locked account is asked about within hours, a missing refund days later.
    assert median(delays["account_locked"]) < 6 < 24 < median(delays["refund_pending"])


def test_the_question_is_often_not_the_one_tied_to_the_newest_event(smoke_lines) -> None:
    matches, with_event = 0, 0
    for line in smoke_lines:
        for s in line["sessions"]:
            opened = at(s["opened_at"])
            recent = [
                e
                for e in line["events"]
                if opened - timedelta(days=30) <= at(e["occurred_at"]) <= opened
            ]
            if recent:
                newest = max(recent, key=lambda e: e["occurred_at"])
                with_event += 1
                matches += EVENT_QUESTION[newest["kind"]] == s["question"]
    assert with_event > 500
    assert 0.1 < matches / with_event < 0.5


def test_a_customers_past_questions_make_the_same_question_likelier(smoke_lines) -> None:
    own, someone_elses, counted = 0, 0, 0
    for line, other in zip(smoke_lines, smoke_lines[1:] + smoke_lines[:1], strict=True):
        mine = [s["question"] for s in line["sessions"]]
        theirs = {s["question"] for s in other["sessions"]}
        for k in range(3, len(mine)):
            counted += 1
            own += mine[k] in set(mine[:k])
            someone_elses += mine[k] in theirs
    assert counted > 500
    assert own / counted > someone_elses / counted + 0.1


def test_the_same_seed_gives_the_same_histories_whatever_the_customer_count(smoke_lines) -> None:
    few = generate_histories(30, seed=42, reference_date=REFERENCE_DATE)
    assert few == smoke_lines[:30]
    assert generate_histories(30, seed=43, reference_date=REFERENCE_DATE) != few


def test_asking_leaves_the_sandboxs_own_data_as_it_was() -> None:
    data = generate(60, seed=42, reference_date=REFERENCE_DATE)
    before = digest(data)
    assert list(histories(data, seed=42, reference_date=REFERENCE_DATE))
    assert digest(data) == before
