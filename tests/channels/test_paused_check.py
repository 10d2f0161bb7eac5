"""A customer's message costs no tracker-store read beyond Rasa's own to learn whether a person
has the conversation, and the answer stays right when several Rasa servers share the store.

Each "Rasa server" here is what the forwarding sees of one: an agent whose tracker store is
Rasa's own (SQL on one shared SQLite file, wrapped as Rasa's agent wraps it) and a message
handler that, like Rasa's processor, reads the tracker, records the message (a request for a
person pauses the conversation, as the handoff action does) and saves the tracker.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused, ConversationResumed, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.admission import MessageAdmission
from channels.desk_forwarding import DeskForwarding
from common.assistant_settings import ServiceLink

ASKS_FOR_A_PERSON = "can I talk to a person?"


class CountedStore(SQLTrackerStore):
    def __init__(self, database: Path) -> None:
        super().__init__(Domain.empty(), dialect="sqlite", db=str(database))
        self.reads = 0

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        self.reads += 1
        return await super().retrieve(sender_id)


class RecordingDesk:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    async def customer_message(
        self, conversation_id: str, message_id: str, text: str, timestamp: float
    ) -> None:
        self.messages.append((conversation_id, text))


class RasaServer:
    def __init__(self, database: Path) -> None:
        self.store = CountedStore(database)
        self.agent = SimpleNamespace(tracker_store=FailSafeTrackerStore(self.store))
        self.forwarding = DeskForwarding(
            ServiceLink("http://127.0.0.1:9", "unused", 1.0), MessageAdmission(8)
        )
        self.forwarding.app = SimpleNamespace(ctx=SimpleNamespace(agent=self.agent))
        self.desk = RecordingDesk()
        self.forwarding.desk = self.desk  # type: ignore[assignment]
        self.handle = self.forwarding.wrap(self._processor_handles)

    async def _processor_handles(self, message: UserMessage) -> None:
        store = self.agent.tracker_store
        tracker = await store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, message_id=message.message_id))
        if message.text == ASKS_FOR_A_PERSON:
            tracker.update(ConversationPaused())
        await store.save(tracker)

    async def says(self, conversation_id: str, text: str) -> int:
        """The customer's message; how many tracker-store reads it cost."""
        before = self.store.reads
        await self.handle(UserMessage(text, sender_id=conversation_id))
        return self.store.reads - before


@pytest.fixture
def servers(tmp_path: Path) -> list[RasaServer]:
    database = tmp_path / "tracker.db"
    return [RasaServer(database), RasaServer(database)]


async def test_a_message_costs_rasas_one_read_paused_or_not(servers: list[RasaServer]) -> None:
    server = servers[0]
    assert await server.says("customer:C00001", "what's my balance?") == 1
    assert server.desk.messages == []
    assert await server.says("customer:C00001", ASKS_FOR_A_PERSON) == 1
    assert await server.says("customer:C00001", "hello? anyone there?") == 1
    assert server.desk.messages == [
        ("customer:C00001", ASKS_FOR_A_PERSON),
        ("customer:C00001", "hello? anyone there?"),
    ]


async def test_the_pause_and_the_resume_hold_whichever_server_takes_the_message(
    servers: list[RasaServer],
) -> None:
    first, second = servers
    await first.says("customer:C00002", ASKS_FOR_A_PERSON)
    await second.says("customer:C00002", "still waiting")
    assert second.desk.messages == [("customer:C00002", "still waiting")]
    # The desk resumes the conversation through one server's API; the other takes the next.
    tracker = await first.agent.tracker_store.retrieve("customer:C00002")
    tracker.update(ConversationResumed())
    await first.agent.tracker_store.save(tracker)
    await second.says("customer:C00002", "thanks, bye")
    assert second.desk.messages == [("customer:C00002", "still waiting")]


async def test_a_message_of_another_conversation_is_never_taken_for_this_ones(
    servers: list[RasaServer],
) -> None:
    server = servers[0]
    await server.says("customer:C00003", ASKS_FOR_A_PERSON)
    other: Any = server.forwarding
    # A tracker Rasa saved for another conversation in this task is not this one's answer.
    handled = await server.agent.tracker_store.retrieve("customer:C00003")
    assert await other.paused_tracker("customer:C00004", handled) is None
