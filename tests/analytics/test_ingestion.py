"""The pipeline from Rasa's SQL event broker: a restart or a replay of the stream from its
start counts nothing twice, late events correct their session, a flow left unanswered is
abandoned once the customer has been silent long enough, and no card number, code or token
reaches the analytics database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from rasa.shared.core.events import SlotSet
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics import store
from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
from analytics.kpis import KpiFilters, compute_kpis
from analytics.store import open_store
from tests.analytics.conversations import Conversation, at, publish

IDLE_SECONDS = 30 * 60
LATER = at("2026-12-01 00:00")


def resolved_and_abandoned() -> list[Conversation]:
    done = Conversation("customer:C00010", "2026-11-05 09:00")
    done.user("freeze my card", "bank_freeze_card").resolved("bank:bank_freeze_card", after=12)
    left = Conversation("customer:C00011", "2026-11-05 10:00")
    left.user("send money", "bank_transfer").form("bank_transfer_form", "recipient")
    left.bot("utter_ask_bank_transfer_form_recipient")
    return [done, left]


def reader_for(
    directory: Path, clock: float = LATER, batch_size: int = 7
) -> tuple[Engine, SqlBrokerReader]:
    """The service as it starts: its database and a reader of the broker, from nothing kept in
    memory."""
    engine = open_store(f"sqlite:///{directory / 'analytics.db'}")
    ingestor = Ingestor(engine, catalogue_lines(), idle_seconds=IDLE_SECONDS, clock=lambda: clock)
    broker_url = f"sqlite:///{directory / 'events.db'}"
    return engine, SqlBrokerReader(broker_url, ingestor, batch_size=batch_size)


def read_all(reader: SqlBrokerReader) -> int:
    rows = 0
    while read := reader.read_once():
        rows += read
    return rows


def counts(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        figures = compute_kpis(connection, KpiFilters())
        stored = connection.execute(select(func.count()).select_from(store.events)).scalar()
    return {
        "events": stored,
        "sessions": figures["sessions"],
        "self_service_rate": figures["self_service_rate"],
        "abandonment": figures["abandonment"],
    }


def test_a_restart_and_a_replay_from_the_start_count_nothing_twice(tmp_path: Path) -> None:
    conversations = resolved_and_abandoned()
    publish(tmp_path / "events.db", conversations)
    published = sum(len(c.events) for c in conversations)
    engine, reader = reader_for(tmp_path)
    assert read_all(reader) == published
    first = counts(engine)
    assert first == {
        "events": published,
        "sessions": 2,
        "self_service_rate": 0.5,
        "abandonment": {"rate": 0.5, "where": {"bank_transfer_form:recipient": 1}},
    }
    reader.close()
    engine.dispose()

    # A restart reads on from the checkpoint: nothing new.
    engine, reader = reader_for(tmp_path)
    assert read_all(reader) == 0
    # Replaying the broker's table from its first row reads every row again, stores none.
    with engine.begin() as connection:
        store.save_checkpoint(connection, reader.source, 0)
    assert read_all(reader) == published
    # The same stream published a second time (an export replayed into the broker).
    publish(tmp_path / "events.db", conversations)
    assert read_all(reader) == published
    assert counts(engine) == first
    reader.close()
    engine.dispose()


def test_a_late_event_corrects_its_session(tmp_path: Path) -> None:
    late = Conversation("customer:C00012", "2026-11-06 09:00")
    late.user("what's my credit limit", "credit_limit").bot("utter_credit_limit")
    publish(tmp_path / "events.db", [late])
    engine, reader = reader_for(tmp_path)
    read_all(reader)
    assert counts(engine)["self_service_rate"] == 0.0
    # The action server's outcome arrives after the rest, stamped with the time it happened.
    happened = at("2026-11-06 09:00:07")
    resolved = SlotSet("resolved_request", "credit:credit_limit", timestamp=happened)
    publish(tmp_path / "events.db", [[{"sender_id": late.sender_id, **resolved.as_dict()}]])
    read_all(reader)
    with engine.connect() as connection:
        (row,) = connection.execute(select(store.sessions)).mappings()
    assert row["resolved"] and row["line"] == "credit"
    assert row["time_to_resolution_seconds"] == 2.0
    assert counts(engine)["self_service_rate"] == 1.0
    reader.close()
    engine.dispose()


def test_a_flow_is_abandoned_only_after_the_customer_went_silent(tmp_path: Path) -> None:
    publish(tmp_path / "events.db", resolved_and_abandoned())
    # Five minutes after the question the customer may still answer.
    now = [at("2026-11-05 10:05")]
    engine = open_store(f"sqlite:///{tmp_path / 'analytics.db'}")
    ingestor = Ingestor(engine, catalogue_lines(), idle_seconds=IDLE_SECONDS, clock=lambda: now[0])
    read_all(SqlBrokerReader(f"sqlite:///{tmp_path / 'events.db'}", ingestor))
    assert counts(engine)["abandonment"]["rate"] == 0.0
    now[0] = at("2026-11-05 10:45")
    assert ingestor.close_idle_sessions() == 1
    assert counts(engine)["abandonment"] == {
        "rate": 0.5,
        "where": {"bank_transfer_form:recipient": 1},
    }
    engine.dispose()


CARD = "4111 1111 1111 1111"
SEALED = "gAAAAABsealedcode"
PLANTED = ("4111111111111111", CARD, "cvv 737", "481516", "s3cr3t-sign-in-token", SEALED)


def test_no_card_number_code_or_token_is_stored(tmp_path: Path) -> None:
    careless = Conversation("customer:C00013", "2026-11-07 09:00")
    careless.user(f"my card {CARD} cvv 737 was charged twice", "payments_failed")
    careless.user("the code they sent is 481516", "inform")
    careless.slot("verification_code", "481516").slot("card_hint", CARD)
    event = careless.events[-4]
    event["metadata"] = {"token": "s3cr3t-sign-in-token", "sealed_one_time_code": SEALED}
    publish(tmp_path / "events.db", [careless])
    engine, reader = reader_for(tmp_path)
    read_all(reader)
    reader.close()
    engine.dispose()

    with sqlite3.connect(tmp_path / "analytics.db") as connection:
        stored = "\n".join(connection.iterdump()).lower()
    assert [value for value in PLANTED if value.lower() in stored] == []
    assert "[card ending 1111]" in stored and "[one-time code]" in stored
    # The customer's words are kept, masked, for the failure clusters.
    assert "was charged twice" in stored


def session_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        found = connection.execute(select(store.sessions).order_by(store.sessions.c.session_id))
        return [dict(row) for row in found.mappings()]


def test_events_arriving_in_any_order_make_the_sessions_all_at_once_would(tmp_path: Path) -> None:
    regular = Conversation("customer:C00014", "2026-11-08 09:00")
    regular.user("my bill", "credit_bill").resolved("credit:credit_bill", after=5)
    regular.session_start(at_time="2026-11-09 09:00")
    regular.user("my bill again", "credit_bill").resolved("credit:credit_bill", after=9)
    regular.session_start(at_time="2026-11-10 09:00")
    regular.user("a card abroad", "intl_card_abroad").bot("utter_intl_card_abroad")
    # The first session's outcome arrives last of all.
    late = regular.events.pop(4)
    assert late["event"] == "slot" and late["name"] == "resolved_request"
    (tmp_path / "in_order").mkdir()
    publish(tmp_path / "in_order" / "events.db", [[*regular.events[:4], late, *regular.events[4:]]])
    (tmp_path / "late").mkdir()
    publish(tmp_path / "late" / "events.db", [regular.events[:9], regular.events[9:], [late]])

    expected_engine, reader = reader_for(tmp_path / "in_order")
    read_all(reader)
    # One broker row at a time, as a busy broker would hand them over.
    late_engine, late_reader = reader_for(tmp_path / "late", batch_size=1)
    read_all(late_reader)
    assert session_rows(late_engine) == session_rows(expected_engine)
    assert [row["resolved"] for row in session_rows(late_engine)] == [True, True, False]
    for engine, each in ((expected_engine, reader), (late_engine, late_reader)):
        each.close()
        engine.dispose()
