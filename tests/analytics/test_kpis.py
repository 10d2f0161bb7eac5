"""Each KPI on hand-built conversations whose answers are known: eight sessions over two days,
published through Rasa's own SQL event broker and read by the real ingestion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
from analytics.kpis import KpiFilters, compute_kpis
from analytics.store import open_store
from tests.analytics.conversations import KPI_KEYS, Conversation, at, publish

IDLE_SECONDS = 30 * 60


def conversations() -> list[Conversation]:
    # A: signed in, asks a balance, resolved 30 s after the first message, rates 5; comes back
    # the next day with something the assistant does not do (another line: still first contact).
    a = Conversation("customer:C00001", "2026-11-02 09:00")
    a.user("hello", "greet").bot("utter_greet").user("what's my balance", "bank_balance", after=9)
    a.resolved("bank:bank_balance", after=20).asked_to_rate().rates(5)
    a.session_start(at_time="2026-11-03 10:00")
    a.user("what's the weather", "out_of_scope").bot("utter_out_of_scope")
    a.user("bye", "goodbye").bot("utter_goodbye")
    # B: on the web chat, starts a transfer and leaves when asked the amount.
    b = Conversation("customer:C00002", "2026-11-02 10:00", channel="socketio")
    b.user("send money to Li", "bank_transfer").form("bank_transfer_form", "amount")
    b.bot("utter_ask_bank_transfer_form_amount", "How much?")
    # C: not understood twice, a clarification, asks for a person (answers in 30 s, resolves
    # 240 s later), rates 2 with a comment.
    c = Conversation("anon-1", "2026-11-02 11:00")
    c.user("asdf qwerty", "nlu_fallback").bot("utter_default")
    c.user("blah", "nlu_fallback").action("action_clarify_request").bot("utter_clarify")
    c.user("talk to a human", "request_human").hands_off("customer_request", 30, 240)
    c.asked_to_rate().rates(2, comment="too slow")
    # D: reports fraud; the line's policy hands it to a person (60 s wait, 120 s handling);
    # asked to rate when the agent gives the chat back, no answer.
    d = Conversation("customer:C00003", "2026-11-02 12:00")
    d.user("someone stole from my account", "security_report_fraud")
    d.hands_off("policy", 60, 120)
    # E: a bill resolved in 15 s, asked to rate, no answer; back the next morning about the
    # same bill (so the first was no first-contact resolution), resolved in 45 s, rates 4.
    e = Conversation("customer:C00004", "2026-11-02 13:00")
    e.user("my credit card bill", "credit_bill").resolved("credit:credit_bill", after=15)
    e.asked_to_rate()
    e.session_start(at_time="2026-11-03 09:00")
    e.user("my bill again", "credit_bill").resolved("credit:credit_bill", after=45)
    e.asked_to_rate().rates(4)
    # G: a wealth balance resolved in 60 s, never asked to rate.
    g = Conversation("customer:C00005", "2026-11-03 11:00")
    g.user("how much is in my fund", "wealth_balance").resolved("wealth:wealth_balance", after=60)
    return [a, b, c, d, e, g]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    directory = tmp_path_factory.mktemp("kpis")
    publish(directory / "events.db", conversations())
    engine = open_store(f"sqlite:///{directory / 'analytics.db'}")
    ingestor = Ingestor(
        engine, catalogue_lines(), idle_seconds=IDLE_SECONDS, clock=lambda: at("2026-12-01 00:00")
    )
    reader = SqlBrokerReader(f"sqlite:///{directory / 'events.db'}", ingestor, batch_size=40)
    while reader.read_once():
        pass
    reader.close()
    yield engine
    engine.dispose()


def kpis(engine: Engine, **filters: Any) -> dict[str, Any]:
    with engine.connect() as connection:
        return compute_kpis(connection, KpiFilters(**filters))


def test_the_whole_period(store: Engine) -> None:
    figures = kpis(store)
    assert figures["period"] == {"start": "2026-11-02", "end": "2026-11-03"}
    assert figures["filters"] == {"line": None, "channel": None, "intent": None}
    assert figures["sessions"] == figures["volume"] == 8
    # Resolved with no person: A, E (both), G.
    assert figures["self_service_rate"] == 0.5
    # Resolved and not back about the same line within 7 days: A, E's second, G.
    assert figures["first_contact_resolution_rate"] == 0.375
    assert figures["satisfaction"] == {
        "csat": 0.6667,
        "average": 3.67,
        "responses": 3,
        "asked": 5,
        "response_rate": 0.6,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    assert figures["escalation"] == {
        "rate": 0.25,
        "reasons": {
            "customer_request": 1,
            "repeated_fallback": 0,
            "policy": 1,
            "backend_outage": 0,
        },
    }
    assert figures["abandonment"] == {"rate": 0.125, "where": {"bank_transfer_form:amount": 1}}
    # 18 customer messages (button clicks included): 2 fallbacks (C's comment, not understood
    # as an intent, was taken as the comment: no fallback), 1 clarification, 1 out of scope.
    assert figures["fallback_rate"] == 0.1111
    assert figures["clarification_rate"] == 0.0556
    assert figures["out_of_scope_rate"] == 0.0556
    assert figures["time_to_resolution_seconds"] == {"median": 37.5, "p90": 55.5}
    assert figures["handoff"] == {"wait_seconds_median": 45.0, "handling_seconds_median": 180.0}


def test_per_line_per_channel_per_intent_and_per_day(store: Engine) -> None:
    figures = kpis(store)
    by_line = {row["line"]: row for row in figures["by_line"]}
    assert {line: row["sessions"] for line, row in by_line.items()} == {
        "bank": 2,
        "credit": 2,
        "general": 2,
        "security": 1,
        "wealth": 1,
    }
    assert by_line["credit"] == {
        "line": "credit",
        "sessions": 2,
        "self_service_rate": 1.0,
        "first_contact_resolution_rate": 0.5,
        "csat": 1.0,
        "escalation_rate": 0.0,
    }
    assert by_line["security"]["escalation_rate"] == 1.0
    by_channel = {row["channel"]: row["sessions"] for row in figures["by_channel"]}
    assert by_channel == {"rest": 7, "socketio": 1}
    by_intent = {row["intent"]: row["sessions"] for row in figures["by_intent"]}
    assert by_intent["credit_bill"] == 2 and by_intent["request_human"] == 1
    assert [(day["date"], day["sessions"]) for day in figures["trend"]] == [
        ("2026-11-02", 5),
        ("2026-11-03", 3),
    ]
    assert figures["trend"][1]["self_service_rate"] == 0.6667


def test_filters_choose_the_sessions(store: Engine) -> None:
    web = kpis(store, channel="socketio")
    assert web["sessions"] == 1 and web["abandonment"]["rate"] == 1.0
    second_day = kpis(store, start=date(2026, 11, 3), end=date(2026, 11, 3))
    assert second_day["sessions"] == 3
    assert second_day["period"] == {"start": "2026-11-03", "end": "2026-11-03"}
    wealth = kpis(store, line="wealth")
    assert wealth["conversation_length"] == {"average_messages": 2.0, "median_messages": 2.0}
    bills = kpis(store, intent="credit_bill")
    assert bills["sessions"] == 2 and bills["first_contact_resolution_rate"] == 0.5
    # Coming back after more than the window leaves the first contact a resolution.
    assert (
        kpis(store, intent="credit_bill", fcr_window_days=0)["first_contact_resolution_rate"] == 1.0
    )


def test_a_period_without_sessions_has_no_rates(store: Engine) -> None:
    empty = kpis(store, start=date(2026, 10, 1), end=date(2026, 10, 2))
    assert empty["sessions"] == 0
    assert empty["self_service_rate"] is None and empty["satisfaction"]["csat"] is None
    assert [day["sessions"] for day in empty["trend"]] == [0, 0]


def test_the_shape_is_the_contracts(store: Engine) -> None:
    figures = kpis(store)
    assert set(figures) == KPI_KEYS
    group_keys = {"sessions", "self_service_rate", "first_contact_resolution_rate", "csat"}
    assert all(group_keys | {"escalation_rate", "line"} == set(row) for row in figures["by_line"])
    assert set(figures["trend"][0]) == {
        "date",
        "sessions",
        "self_service_rate",
        "csat",
        "escalation_rate",
    }
