"""Hand-built conversations as Rasa records them: Rasa's own event classes, serialised the way
its tracker store hands them to the event broker (the sender id beside each event), published
through Rasa's own brokers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

EventDict = dict[str, Any]


def at(text: str) -> float:
    """A UTC time ("2026-11-02 09:00") as Rasa's event timestamp."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


class Conversation:
    """One sender's events; each step is some seconds after the one before."""

    def __init__(self, sender_id: str, starts: str, channel: str = "rest") -> None:
        self.sender_id = sender_id
        self.channel = channel
        self.clock = at(starts)
        self.events: list[EventDict] = []
        self.session_start(after=0)

    def add(self, event: Event, after: float) -> Conversation:
        self.clock += after
        event.timestamp = self.clock
        self.events.append({"sender_id": self.sender_id, **event.as_dict()})
        return self

    def session_start(self, after: float = 0, at_time: str | None = None) -> Conversation:
        if at_time is not None:
            self.clock, after = at(at_time), 0
        self.add(ActionExecuted("action_session_start"), after)
        self.add(SessionStarted(), 0)
        return self.add(ActionExecuted("action_listen"), 0)

    def user(
        self, text: str, intent: str, after: float = 5, entities: Iterable[EventDict] = ()
    ) -> Conversation:
        return self.add(
            UserUttered(
                text,
                intent={"name": intent, "confidence": 0.9},
                entities=list(entities),
                input_channel=self.channel,
            ),
            after,
        )

    def bot(self, response: str, text: str = "...", after: float = 1) -> Conversation:
        return self.add(BotUttered(text, metadata={"utter_action": response}), after)

    def action(self, name: str, after: float = 0.5) -> Conversation:
        return self.add(ActionExecuted(name), after)

    def slot(self, name: str, value: Any, after: float = 0.1) -> Conversation:
        return self.add(SlotSet(name, value), after)

    def form(self, name: str | None, requested_slot: str | None = None) -> Conversation:
        self.add(ActiveLoop(name), 0.1)
        return self.slot("requested_slot", requested_slot)

    def resolved(self, request: str, after: float = 0.1) -> Conversation:
        """The action server completed ``request`` ("<line>:<operation>") ``after`` seconds
        after the step before."""
        return self.slot("resolved_request", request, after=after).bot("utter_done", "Done.")

    def asked_to_rate(self) -> Conversation:
        return self.bot("utter_ask_satisfaction", "How satisfied are you?")

    def rates(self, rating: int, comment: str | None = None) -> Conversation:
        self.user(f'/rate_service{{"rating": "{rating}"}}', "rate_service")
        self.slot("rating", str(rating))
        if comment is not None:
            # Free words after a rating are often not understood as an intent; the assistant
            # takes them as the comment all the same.
            self.user(comment, "nlu_fallback").action("action_record_rating_comment")
            self.slot("rating_comment", comment)
        return self.bot("utter_thanks_for_rating")

    def hands_off(self, reason: str, wait: float, handling: float) -> Conversation:
        """A person is brought in; answers after ``wait`` s; resolves after ``handling`` s."""
        opened = self.action("action_request_human").clock
        self.slot("escalation_reason", reason)
        self.bot("utter_handoff_queued").add(ConversationPaused(), 0.1)
        agent = {"handoff_kind": "agent", "agent_name": "Ana"}
        self.add(BotUttered("Hello, I am Ana.", metadata=agent), opened + wait - self.clock)
        answered = self.clock
        self.user("my card was used without my permission", "inform", after=10)
        self.add(ConversationResumed(), answered + handling - self.clock)
        self.add(UserUttered.create_external("EXTERNAL_handoff_resolved", []), 0)
        return self.action("action_handoff_resumed")


def publish(path: Path, conversations: Iterable[Conversation | list[EventDict]]) -> None:
    """Publishes the conversations' events through Rasa's SQL event broker into ``path``."""
    broker = SQLEventBroker(host=f"sqlite:///{path}")
    try:
        for conversation in conversations:
            events = conversation.events if isinstance(conversation, Conversation) else conversation
            for event in events:
                broker.publish(event)
    finally:
        broker.engine.dispose()


# The KPI answer's keys: the contract between the service, the desk and the simulator.
KPI_KEYS = {
    "period",
    "filters",
    "sessions",
    "self_service_rate",
    "first_contact_resolution_rate",
    "satisfaction",
    "escalation",
    "abandonment",
    "fallback_rate",
    "clarification_rate",
    "out_of_scope_rate",
    "volume",
    "conversation_length",
    "time_to_resolution_seconds",
    "handoff",
    "proactive_offers",
    "by_line",
    "by_channel",
    "by_intent",
    "trend",
}
