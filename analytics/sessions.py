"""Rasa's events of one sender become sessions (one row per Rasa session) and the customer's
own messages, each with what came of it. Pure: the caller reads the events and stores the rows.

What the events say (docs/ARCHITECTURE.md and the action server's slots):
- a session starts at ``action_session_start`` / ``session_started``;
- a request is resolved when the action server sets ``resolved_request`` ("<line>:<operation>");
- a person is asked for by ``action_request_human``; a handoff the desk took sets
  ``escalation_reason`` (and, queued or assigned, pauses the assistant); an agent's messages
  are bot messages marked ``handoff_kind: agent``; the agent resolves with the
  ``EXTERNAL_handoff_resolved`` intent;
- the satisfaction question is ``utter_ask_satisfaction`` (put by ``action_ask_satisfaction``
  or ``action_handoff_resumed``); the answer fills ``rating`` (1-5) and optionally
  ``rating_comment``;
- a fallback is a message of intent ``nlu_fallback`` the assistant then did not take anyway
  (as a rating's comment, or as a form's free answer); out of scope is the intent
  ``out_of_scope``; a clarification the action ``action_clarify_request`` or
  ``action_disambiguate``;
- the web chat page's ``chat_opened`` (sent when a chat opens) and the ``EXTERNAL_*`` intents
  (the desk's, the notifier's) are no message of the customer's: they open no request and
  count as no message;
- the questions the customer most likely came with are offered by ``utter_likely_questions``
  with a button each; the offer is taken when the customer's next message is one of them;
- a customer abandons a flow by leaving while a form waits for an answer, or while a question
  (a response ``utter_ask_*`` or a message with buttons) waits that is not an offer after a
  resolved request nor the satisfaction survey.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from common.customer_binding import BOUND_SENDER_PREFIX
from common.system_intents import is_system_intent

SESSION_START_ACTION = "action_session_start"
HANDOFF_ACTION = "action_request_human"
# "Did you mean ...?" after a message not understood; "Which one is it about?" for a request
# that fits several lines: both ask the customer to say which request they meant.
CLARIFY_ACTIONS = frozenset({"action_clarify_request", "action_disambiguate"})
# A question asked by a bot message with buttons but no response name.
UNNAMED_QUESTION = "question"
HANDOFF_RESOLVED_INTENT = "EXTERNAL_handoff_resolved"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
RATING_QUESTION = "utter_ask_satisfaction"
OFFERS_RESPONSE = "utter_likely_questions"
RATING_QUESTION_ACTIONS = frozenset({"action_ask_satisfaction", "action_handoff_resumed"})
RATING_COMMENT_ACTION = "action_record_rating_comment"
LISTEN_ACTION = "action_listen"
AGENT_MESSAGE_KIND = "agent"
RESOLVED_SLOT = "resolved_request"
ESCALATION_SLOT = "escalation_reason"
RATING_SLOT = "rating"
RATING_COMMENT_SLOT = "rating_comment"
REQUESTED_SLOT = "requested_slot"
OUTCOME_SLOTS = frozenset({RESOLVED_SLOT, ESCALATION_SLOT, RATING_SLOT, RATING_COMMENT_SLOT})
# What a customer says around a request, not the request itself: a session's first intent is
# its first request when it has one.
CONVERSATIONAL_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "inform",
        "bot_challenge",
        "help",
        "cancel",
        "rate_service",
        FALLBACK_INTENT,
        OUT_OF_SCOPE_INTENT,
    }
)
# A question about the service itself (the rating, its comment) left unanswered is no
# abandoned request.
_FEEDBACK_WORDS = ("satisfaction", "rating", "comment")

LineOfIntent = Callable[[str], "str | None"]


@dataclass
class Session:
    """A session's row (analytics_sessions) and its customer's messages (analytics_messages)."""

    row: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)


def split_sessions(events: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The sender's events, in order, cut where Rasa starts a session."""
    found: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        starts = _is_action(event, SESSION_START_ACTION) or (
            event.get("event") == "session_started"
            and not (index and _is_action(events[index - 1], SESSION_START_ACTION))
        )
        if starts and current:
            found.append(current)
            current = []
        current.append(event)
    if current:
        found.append(current)
    return found


def sender_sessions(
    sender_id: str,
    events: Sequence[dict[str, Any]],
    line_of_intent: LineOfIntent,
    now: float,
    idle_seconds: float,
) -> list[Session]:
    """Every session of one sender in which the customer wrote, from its events in order (each
    with its stored key under ``_key``); the last is closed once the sender has been silent for
    ``idle_seconds`` at ``now``."""
    parts = split_sessions(events)
    summaries = [
        summarise(
            sender_id,
            part,
            line_of_intent,
            closed=index < len(parts) - 1 or now - part[-1]["timestamp"] >= idle_seconds,
        )
        for index, part in enumerate(parts)
    ]
    # A session the customer never wrote in (a chat page opened and closed) is no contact.
    return [summary for summary in summaries if summary.row["user_messages"]]


def _is_action(event: dict[str, Any], name: str) -> bool:
    return event.get("event") == "action" and event.get("name") == name


def _intent(event: dict[str, Any]) -> str | None:
    name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return str(name) if name else None


def _is_customer_message(event: dict[str, Any]) -> bool:
    """A message from the customer, not one the desk, the notifier or the chat page sent."""
    return event.get("event") == "user" and not is_system_intent(_intent(event))


def _payload_intent(payload: str) -> str:
    """The intent a button's payload ("/intent" or "/intent{...}") sends."""
    return payload.removeprefix("/").partition("{")[0]


def _time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def _is_feedback(name: str) -> bool:
    return any(word in name for word in _FEEDBACK_WORDS)


@dataclass
class _Walk:
    """What is known after each event of a session."""

    first_message_at: float | None = None
    resolved_at: float | None = None
    resolved_request: str | None = None
    escalation_reason: str | None = None
    handoff_opened_at: float | None = None
    # The assistant paused for a person after a handoff was asked for (the desk took it).
    handoff_paused: bool = False
    first_agent_message_at: float | None = None
    handoff_resolved_at: float | None = None
    paused: bool = False
    active_loop: str | None = None
    requested_slot: str | None = None
    last_question: str | None = None
    # A request was resolved since the customer's last message: a question now is an offer.
    resolved_since_message: bool = False
    waiting_for_customer: bool = False
    # The last message of intent nlu_fallback, until the next action says whether it was one.
    pending_fallback: int | None = None
    taken_fallbacks: set[int] = field(default_factory=set)
    clarifications: int = 0
    out_of_scope: int = 0
    user_messages: int = 0
    bot_messages: int = 0
    rating: int | None = None
    rating_comment: str | None = None
    rating_asked: bool = False
    channel: str | None = None
    intents: list[str] = field(default_factory=list)
    offered: bool = False
    offer_taken: bool = False
    # The intents of the offered buttons, until the customer's next message says if one was.
    offered_intents: frozenset[str] | None = None
    # (event, intent) of each customer message, and the index of the one before each handoff.
    customer_messages: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    handed_off: set[int] = field(default_factory=set)

    def user(self, event: dict[str, Any]) -> None:
        intent = _intent(event)
        if intent == HANDOFF_RESOLVED_INTENT and self.handoff_resolved_at is None:
            self.handoff_resolved_at = event["timestamp"]
        if not _is_customer_message(event):
            return
        self.waiting_for_customer = False
        self.resolved_since_message = False
        if self.offered_intents is not None:
            # A button sends its payload ("/intent{...}"); typed words are no taken offer.
            pressed = str(event.get("text") or "").startswith("/")
            self.offer_taken = self.offer_taken or (pressed and intent in self.offered_intents)
            self.offered_intents = None
        self.user_messages += 1
        self.first_message_at = self.first_message_at or event["timestamp"]
        self.channel = self.channel or event.get("input_channel")
        if intent and intent not in self.intents:
            self.intents.append(intent)
        self.out_of_scope += intent == OUT_OF_SCOPE_INTENT
        self.pending_fallback = len(self.customer_messages) if intent == FALLBACK_INTENT else None
        self.customer_messages.append((event, intent))

    def bot(self, event: dict[str, Any]) -> None:
        self.bot_messages += 1
        metadata = event.get("metadata") or {}
        if metadata.get("handoff_kind") == AGENT_MESSAGE_KIND:
            if self.handoff_opened_at is not None and self.first_agent_message_at is None:
                self.first_agent_message_at = event["timestamp"]
            return
        response = str(metadata.get("utter_action") or "")
        if response == RATING_QUESTION:
            self.rating_asked = True
        buttons = (event.get("data") or {}).get("buttons") or []
        if response == OFFERS_RESPONSE and buttons:
            self.offered = True
            self.offered_intents = frozenset(
                _payload_intent(str(button.get("payload") or "")) for button in buttons
            )
        asks = response.startswith("utter_ask_") or bool((event.get("data") or {}).get("buttons"))
        self.last_question = (response or UNNAMED_QUESTION) if asks else None
        self.waiting_for_customer = True

    def action(self, event: dict[str, Any]) -> None:
        name = event.get("name")
        if name != LISTEN_ACTION and self.pending_fallback is not None:
            if name == RATING_COMMENT_ACTION or (self.active_loop and name == self.active_loop):
                self.taken_fallbacks.add(self.pending_fallback)
            self.pending_fallback = None
        if name in RATING_QUESTION_ACTIONS:
            self.rating_asked = True
        if name == HANDOFF_ACTION:
            if self.handoff_opened_at is None:
                self.handoff_opened_at = event["timestamp"]
            if self.customer_messages:
                self.handed_off.add(len(self.customer_messages) - 1)
        elif name in CLARIFY_ACTIONS:
            self.clarifications += 1

    def slot(self, event: dict[str, Any]) -> None:
        name, value = event.get("name"), event.get("value")
        if self.first_message_at is None and name in OUTCOME_SLOTS:
            # Set before the customer said anything: carried over from the session before
            # (Rasa's own session start carries every slot), not an outcome of this one.
            return
        if name == RESOLVED_SLOT and value:
            self.resolved_since_message = True
            self.resolved_request = str(value)
            self.resolved_at = self.resolved_at or event["timestamp"]
        elif name == ESCALATION_SLOT and value:
            self.escalation_reason = str(value)
        elif name == RATING_SLOT and value is not None:
            try:
                rating = int(str(value))
            except ValueError:
                return
            if 1 <= rating <= 5:
                self.rating = rating
        elif name == RATING_COMMENT_SLOT and value:
            self.rating_comment = str(value)
        elif name == REQUESTED_SLOT:
            self.requested_slot = str(value) if value else None

    @property
    def escalated(self) -> bool:
        return self.escalation_reason is not None or self.handoff_paused

    def is_fallback(self, index: int) -> bool:
        return self.customer_messages[index][1] == FALLBACK_INTENT and (
            index not in self.taken_fallbacks
        )

    @property
    def fallbacks(self) -> int:
        return sum(self.is_fallback(index) for index in range(len(self.customer_messages)))

    def see(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "user":
            self.user(event)
        elif kind == "bot":
            self.bot(event)
        elif kind == "action":
            self.action(event)
        elif kind == "slot":
            self.slot(event)
        elif kind == "active_loop":
            self.active_loop = event.get("name") or None
            if self.active_loop is None:
                self.requested_slot = None
        elif kind == "pause":
            self.paused = True
            self.handoff_paused = self.handoff_paused or self.handoff_opened_at is not None
        elif kind == "resume":
            self.paused = False

    def abandoned_at(self, closed: bool) -> str | None:
        """Where the customer left a flow unanswered; None when they did not."""
        if not closed or not self.waiting_for_customer or self.paused:
            return None
        if self.active_loop and not _is_feedback(self.active_loop):
            slot = f":{self.requested_slot}" if self.requested_slot else ""
            return f"{self.active_loop}{slot}"
        if (
            self.last_question
            and not _is_feedback(self.last_question)
            and not self.resolved_since_message
        ):
            return self.last_question
        return None


def _request_intent(intents: Iterable[str]) -> str | None:
    ordered = list(intents)
    return next((name for name in ordered if name not in CONVERSATIONAL_INTENTS), None) or (
        ordered[0] if ordered else None
    )


def summarise(
    sender_id: str,
    events: Sequence[dict[str, Any]],
    line_of_intent: LineOfIntent,
    *,
    closed: bool,
) -> Session:
    walk = _Walk()
    for event in events:
        walk.see(event)
    started, ended = events[0]["timestamp"], events[-1]["timestamp"]
    session_id = f"{sender_id}@{started:.6f}"
    first_intent = _request_intent(walk.intents)
    # The line of the resolved request, else of the request the session opened with.
    line = (
        (walk.resolved_request.partition(":")[0] if walk.resolved_request else None)
        or (line_of_intent(first_intent) if first_intent else None)
        or next((found for intent in walk.intents if (found := line_of_intent(intent))), None)
    )
    abandoned_at = walk.abandoned_at(closed)
    started_at = walk.first_message_at or started

    def seconds(since: float | None, until: float | None) -> float | None:
        return round(until - since, 3) if since is not None and until is not None else None

    row = {
        "session_id": session_id,
        "sender_id": sender_id,
        "customer_id": (
            sender_id[len(BOUND_SENDER_PREFIX) :]
            if sender_id.startswith(BOUND_SENDER_PREFIX)
            else None
        ),
        "channel": walk.channel,
        "started_at": _time(started),
        "first_event_timestamp": started,
        "ended_at": _time(ended),
        "closed": closed,
        "line": line,
        "first_intent": first_intent,
        "intents": walk.intents,
        "resolved": walk.resolved_request is not None,
        "resolved_request": walk.resolved_request,
        "escalated": walk.escalated,
        "escalation_reason": walk.escalation_reason,
        "abandoned": abandoned_at is not None,
        "abandoned_at": abandoned_at,
        "fallbacks": walk.fallbacks,
        "clarifications": walk.clarifications,
        "out_of_scope": walk.out_of_scope,
        "user_messages": walk.user_messages,
        "bot_messages": walk.bot_messages,
        "time_to_resolution_seconds": seconds(started_at, walk.resolved_at),
        "handoff_wait_seconds": seconds(walk.handoff_opened_at, walk.first_agent_message_at),
        "handoff_handling_seconds": seconds(walk.first_agent_message_at, walk.handoff_resolved_at),
        "rating": walk.rating,
        "rating_comment": walk.rating_comment,
        "rating_asked": walk.rating_asked,
        "offered": walk.offered,
        "offer_taken": walk.offer_taken,
    }
    return Session(row, _messages(walk, row, line_of_intent))


def _messages(walk: _Walk, row: dict[str, Any], line_of_intent: LineOfIntent) -> list[dict]:
    # A button's payload ("/rate_service{...}") is not the customer's words.
    worded = [
        (index, event, intent)
        for index, (event, intent) in enumerate(walk.customer_messages)
        if str(event.get("text") or "").strip() and not str(event["text"]).startswith("/")
    ]
    found = []
    for index, event, intent in worded:
        if walk.is_fallback(index):
            outcome = "fallback"
        elif intent == OUT_OF_SCOPE_INTENT:
            outcome = "out_of_scope"
        elif index in walk.handed_off:
            outcome = "handoff"
        elif row["abandoned"] and index == worded[-1][0]:
            outcome = "abandoned"
        else:
            outcome = "understood"
        found.append(
            {
                "key": event["_key"],
                "session_id": row["session_id"],
                "sender_id": row["sender_id"],
                "timestamp": _time(event["timestamp"]),
                "channel": event.get("input_channel") or row["channel"],
                "line": (line_of_intent(intent) if intent else None) or row["line"],
                "intent": intent,
                "outcome": outcome,
                "text": str(event["text"]),
            }
        )
    return found
