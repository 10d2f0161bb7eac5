"""A conversation idle longer than the domain's session expiry (60 minutes) starts a new
session, and the tracker store then serves only that session, the customer's name carried over.

Rasa decides expiry in MessageProcessor._has_session_expired from the domain's session_config
alone. A whole processor loads the trained model; the one here is given only the project's
domain, built from the same files as the model's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from common.tracker_store import StrictSQLTrackerStore

MINUTE = 60.0


def session_deciding_processor(domain: Domain) -> MessageProcessor:
    processor = MessageProcessor.__new__(MessageProcessor)
    processor.domain = domain
    return processor


def conversation_idle_for(sender: str, minutes: float) -> DialogueStateTracker:
    last_message = time.time() - minutes * MINUTE
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_session_start", timestamp=last_message - 5),
            SessionStarted(timestamp=last_message - 4),
            SlotSet("customer_name", "Li Wei", timestamp=last_message - 3),
            SlotSet("amount", "¥500", timestamp=last_message - 3),
            ActionExecuted("action_listen", timestamp=last_message - 2),
            UserUttered("send ¥500 to my mother", timestamp=last_message),
            BotUttered("Which account should it come from?", timestamp=last_message + 1),
            ActionExecuted("action_listen", timestamp=last_message + 2),
        ],
    )


@pytest.fixture
def store(project_domain: Domain, tmp_path: Path) -> StrictSQLTrackerStore:
    store = StrictSQLTrackerStore(domain=project_domain, host=f"sqlite:///{tmp_path / 't.db'}")
    yield store
    store.engine.dispose()


async def test_the_project_sessions_expire_after_an_hour_idle(
    project_domain: Domain, store: StrictSQLTrackerStore
):
    processor = session_deciding_processor(project_domain)
    for sender, minutes in (("idle-59", 59), ("idle-61", 61)):
        await store.save(conversation_idle_for(sender, minutes))

    expired = {
        sender: processor._has_session_expired(await store.retrieve(sender))
        for sender in ("idle-59", "idle-61")
    }

    assert expired == {"idle-59": False, "idle-61": True}


async def test_an_expired_conversation_continues_in_a_new_session_with_only_the_name(
    project_domain: Domain,
    domain_dict: dict[str, Any],
    store: StrictSQLTrackerStore,
    dispatcher: CollectingDispatcher,
):
    await store.save(conversation_idle_for("idle-61", 61))
    tracker = await store.retrieve("idle-61")
    # What the Rasa server does then: action_session_start (the action server's) on the tracker.
    started = await ActionSessionStart().run(
        dispatcher, Tracker.from_dict(tracker.current_state(EventVerbosity.ALL)), domain_dict
    )
    tracker.update(ActionExecuted("action_session_start"))
    for event in started:
        tracker.update(Event.from_parameters(event), project_domain)
    await store.save(tracker)

    new_session = await store.retrieve("idle-61")

    assert [event.type_name for event in new_session.events] == [
        "session_started",
        "slot",
        "action",
    ]
    assert new_session.get_slot("customer_name") == "Li Wei"
    assert new_session.get_slot("amount") is None
    everything = await store.retrieve_full_tracker("idle-61")
    assert len(everything.events) == 8 + 1 + len(started)
