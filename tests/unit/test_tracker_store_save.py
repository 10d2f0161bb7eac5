"""A message's events reach the tracker store and the analytics' event broker once each, in
order, without reading the conversation back and with one broker transaction a message."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from common.tracker_store import StrictSQLTrackerStore

SENDER = "tracker-save-test"


@pytest.fixture
def broker(tmp_path: Path) -> SQLEventBroker:
    return SQLEventBroker(db=str(tmp_path / "events.db"))


@pytest.fixture
def store(tmp_path: Path, broker: SQLEventBroker) -> StrictSQLTrackerStore:
    return StrictSQLTrackerStore(
        domain=Domain.empty(), host=f"sqlite:///{tmp_path / 'tracker.db'}", event_broker=broker
    )


def broker_events(broker: SQLEventBroker) -> list[dict]:
    with broker.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sender_id, data FROM events ORDER BY id"))
        return [json.loads(data) | {"row_sender": sender} for sender, data in rows]


def stored_event_types(store: StrictSQLTrackerStore) -> list[str]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT type_name FROM events ORDER BY id"))
        return [type_name for (type_name,) in rows]


def count_commits(engine: sa.engine.Engine) -> list[int]:
    commits = [0]

    def counted(_: object) -> None:
        commits[0] += 1

    sa.event.listen(engine, "commit", counted)
    return commits


def opening() -> list:
    """As Rasa's processor logs a session start: the action's own SessionStarted was made
    while it ran, before the ActionExecuted logged after it (Rasa finds a session's events by
    the timestamp of its start)."""
    started = time.time()
    return [
        ActionExecuted("action_session_start", timestamp=started + 0.001),
        SessionStarted(timestamp=started),
        ActionExecuted("action_listen", timestamp=started + 0.002),
        UserUttered("what is my balance", {"name": "bank_balance", "confidence": 0.97}),
    ]


async def test_a_message_s_events_are_stored_and_published_once_in_order(store, broker):
    tracker = DialogueStateTracker.from_events(SENDER, opening())
    commits = count_commits(broker.engine)

    await store.save(tracker)
    tracker.update(BotUttered("Your balance is 5.00 CNY"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)

    types = [e.type_name for e in tracker.events]
    assert stored_event_types(store) == types
    published = broker_events(broker)
    assert [e["event"] for e in published] == types
    assert {e["sender_id"] for e in published} == {e["row_sender"] for e in published} == {SENDER}
    assert published[3]["parse_data"]["intent"]["name"] == "bank_balance"
    # One broker transaction a save, not one per event.
    assert commits[0] == 2


async def test_saving_again_with_nothing_new_stores_and_publishes_nothing(store, broker):
    tracker = DialogueStateTracker.from_events(SENDER, opening())
    await store.save(tracker)
    commits = count_commits(broker.engine)

    await store.save(tracker)

    assert len(stored_event_types(store)) == len(broker_events(broker)) == 4
    assert commits[0] == 0


async def test_a_save_does_not_read_the_conversation_back(store, monkeypatch):
    async def no_reading(*_: object, **__: object) -> None:
        raise AssertionError("the save read the whole tracker back")

    monkeypatch.setattr(store, "retrieve", no_reading)
    monkeypatch.setattr(store, "_retrieve", no_reading)

    await store.save(DialogueStateTracker.from_events(SENDER, opening()))

    assert len(stored_event_types(store)) == 4


async def test_the_broker_writes_through_a_pooled_wal_mode_engine(store, broker):
    await store.save(DialogueStateTracker.from_events(SENDER, opening()))

    with broker.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert isinstance(broker.engine.pool, sa.pool.QueuePool)
