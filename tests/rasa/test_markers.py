"""`rasa evaluate markers` with markers.yml reads a tracker store and says, session by session,
what a supervisor would say of each conversation: resolved, escalated, misunderstood, rated."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from itertools import count
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from common.environment import PROJECT_ROOT
from tooling.rasa_cli import log_tail, run_rasa

MARKERS = ["clarification", "commented", "escalated", "fallback", "out_of_scope"]
MARKERS += ["rated", "rating_asked", "resolved"]
APPLIED = "count(number of preceding user turns)"


def session_start() -> list[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]


def customer(text: str, intent: str, **entities: str) -> list[Event]:
    return [
        UserUttered(
            text,
            intent={"name": intent, "confidence": 0.9},
            entities=[{"entity": name, "value": value} for name, value in entities.items()],
        )
    ]


def assistant(action: str, *said: str, slots: dict[str, str] | None = None) -> list[Event]:
    return [
        ActionExecuted(action),
        *[BotUttered(text) for text in said],
        *[SlotSet(name, value) for name, value in (slots or {}).items()],
        ActionExecuted("action_listen"),
    ]


CONVERSATIONS: dict[str, list[Event]] = {
    # Session 0: a balance answered, rated 5 with a comment the NLU could not place (no
    # fallback: it is taken as the comment). Session 1, the next day: not understood, then
    # asks for something the assistant does not do.
    "customer:C00001": [
        *session_start(),
        *customer("how much do I have", "bank_balance"),
        ActionExecuted("action_run_operation"),
        BotUttered("Here are your bank balances: ..."),
        SlotSet("resolved_request", "bank:bank_balance"),
        *assistant("action_ask_satisfaction", "How satisfied are you with the help you got?"),
        *customer('/rate_service{"rating": "5"}', "rate_service", rating="5"),
        *assistant("action_record_satisfaction", "Thank you...", slots={"rating": "5"}),
        *customer("quick and clear", "nlu_fallback"),
        *assistant("action_record_rating_comment", slots={"rating_comment": "quick and clear"}),
        *session_start(),
        *customer("blorp", "nlu_fallback"),
        *assistant("action_clarify_request", "Did you mean one of these?"),
        *customer("order me a taxi", "out_of_scope"),
        *assistant("utter_out_of_scope", "Sorry, that's not something I can help with here."),
    ],
    # Asks for a person straight away.
    "customer:C00002": [
        *session_start(),
        *customer("a real person please", "request_human"),
        *assistant("action_request_human", slots={"escalation_reason": "customer_request"}),
    ],
    # A fraud report the security team's policy hands to a person: escalated, not resolved,
    # and the rating comes when the agent gives the chat back; none given. The form's free
    # answer, which the NLU could not place, is no fallback.
    "customer:C00003": [
        *session_start(),
        *customer("someone is using my account", "security_report_fraud"),
        *assistant("security_report_fraud_form", "What happened?"),
        *customer("a payment of 500 yuan I did not make", "nlu_fallback"),
        ActionExecuted("security_report_fraud_form"),
        *assistant("action_finish_operation", slots={"escalation_reason": "policy"}),
        *customer("", "EXTERNAL_handoff_resolved"),
        *assistant("action_handoff_resumed", "Lin has finished helping you..."),
    ],
}
EXPECTED = {
    ("customer:C00001", "0"): {"resolved", "rating_asked", "rated", "commented"},
    ("customer:C00001", "1"): {"fallback", "clarification", "out_of_scope"},
    ("customer:C00002", "0"): {"escalated"},
    ("customer:C00003", "0"): {"escalated", "rating_asked"},
}


def in_order(events: list[Event]) -> Iterator[Event]:
    """The tracker store reads events back by timestamp: one second apart keeps their order."""
    seconds = count(1_764_460_800)
    for event in events:
        event.timestamp = float(next(seconds))
        yield event


async def store_conversations(database: Path, domain: Domain) -> None:
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(database))
    for sender, events in CONVERSATIONS.items():
        await store.save(DialogueStateTracker.from_events(sender, list(in_order(events))))


def sessions_where_markers_applied(per_session: Path) -> dict[tuple[str, str], set[str]]:
    applied: dict[tuple[str, str], set[str]] = {}
    with per_session.open() as rows:
        for row in csv.DictReader(rows):
            if row["statistic"] != APPLIED:
                continue
            session = applied.setdefault((row["sender_id"], row["session_idx"]), set())
            if int(row["value"]) > 0:
                session.add(row["marker"])
    return applied


def test_markers_say_what_each_session_came_to(project_domain: Domain, tmp_path: Path):
    database = tmp_path / "trackers.db"
    asyncio.run(store_conversations(database, project_domain))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {database}\n")
    domain = tmp_path / "domain.yml"
    # The markers are checked against the whole domain: the product lines' and the registry's.
    project_domain.persist(domain)

    log = tmp_path / "markers.log"
    result = run_rasa(
        "evaluate",
        "markers",
        "all",
        "--config",
        str(PROJECT_ROOT / "markers.yml"),
        "--endpoints",
        str(endpoints),
        "--domain",
        str(domain),
        "--stats-file-prefix",
        str(tmp_path / "stats"),
        str(tmp_path / "markers.csv"),
        log_path=log,
    )

    assert result.returncode == 0, log_tail(log)
    applied = sessions_where_markers_applied(tmp_path / "stats-per-session.csv")
    assert applied == EXPECTED
    with (tmp_path / "stats-overall.csv").open() as rows:
        overall = {
            row["marker"]: float(row["value"])
            for row in csv.DictReader(rows)
            if row["statistic"] == "percentage_of_sessions_where_marker_applied_at_least_once"
        }
    assert sorted(overall) == MARKERS
    assert overall["resolved"] == 25.0
    assert overall["escalated"] == 50.0
