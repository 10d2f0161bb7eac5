"""How satisfied the customer is: one tap from 1 to 5, then anything they want to add.

The survey is asked after a handoff, when the agent gives the chat back
(action_handoff_resumed), and after a request the assistant resolved on its own
(action_ask_satisfaction, which the action that resolved it runs next: see
``satisfaction_due``). It is asked at most once a session, never in the middle of a request.
The answer fills the ``rating`` slot ("1" to "5"), whatever the customer tapped or typed; a
rating of a handoff is also recorded at the desk with the chat. What the customer adds next
fills ``rating_comment``, unless it is a new request, which is served as usual.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.handoff_connector import HandoffUnavailable
from registry.catalogue import Catalogue, Operation

logger = logging.getLogger(__name__)

ASK_SATISFACTION_ACTION = "action_ask_satisfaction"
HANDOFF_RESUMED_ACTION = "action_handoff_resumed"
RATING_COMMENT_ACTION = "action_record_rating_comment"
# The actions that put the rating question to the customer.
RATING_QUESTION_ACTIONS = frozenset({ASK_SATISFACTION_ACTION, HANDOFF_RESUMED_ACTION})
RATING_ENTITY = "rating"
RATING_SLOT = "rating"
RATING_COMMENT_SLOT = "rating_comment"
RATING_LABELS = (
    (5, "Very satisfied"),
    (4, "Satisfied"),
    (3, "Okay"),
    (2, "Dissatisfied"),
    (1, "Very dissatisfied"),
)
RATING_IN_TEXT = re.compile(r"\b([1-5])\b")
# "not good", "wasn't great": words read the other way round; the buttons are asked again.
NEGATION = re.compile(r"\b(not|never|no)\b|n't\b")
RATING_WORDS = (
    ("very dissatisfied", 1),
    ("very unsatisfied", 1),
    ("terrible", 1),
    ("awful", 1),
    ("dissatisfied", 2),
    ("unsatisfied", 2),
    ("poor", 2),
    ("bad", 2),
    ("okay", 3),
    ("ok", 3),
    ("average", 3),
    ("excellent", 5),
    ("perfect", 5),
    ("very satisfied", 5),
    ("great", 5),
    ("satisfied", 4),
    ("good", 4),
)


def session_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The events of the current Rasa session: those after the latest ``session_started``."""
    events = list(tracker.events)
    starts = [at for at, event in enumerate(events) if event.get("event") == "session_started"]
    return events[starts[-1] + 1 :] if starts else events


def actions_run(events: list[dict[str, Any]]) -> list[str]:
    return [str(event.get("name")) for event in events if event.get("event") == "action"]


def rating_asked_this_session(tracker: Tracker) -> bool:
    return any(name in RATING_QUESTION_ACTIONS for name in actions_run(session_events(tracker)))


def continues_after(operation: Operation, catalogue: Catalogue) -> bool:
    """Whether the answer leads on to another step: an offer said after it (``then``), or a
    request that carries on from it (``follows``: the replacement of the card just blocked)."""
    return operation.then is not None or any(
        operation.name in other.follows for other in catalogue.operations.values()
    )


def satisfaction_due(tracker: Tracker, operation: Operation, catalogue: Catalogue) -> bool:
    """Whether the request just resolved ends what the customer came for, so the survey may
    be asked now: not while a form is active, not when another step follows, and once a
    session at most (a handoff's rating counts)."""
    return (
        not (tracker.active_loop or {}).get("name")
        and not continues_after(operation, catalogue)
        and not rating_asked_this_session(tracker)
    )


def ask_for_rating(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        response="utter_ask_satisfaction",
        buttons=[
            {"title": f"{rating} - {label}", "payload": f'/rate_service{{"rating": "{rating}"}}'}
            for rating, label in RATING_LABELS
        ],
    )


def rating_given(tracker: Tracker) -> int | None:
    """The 1-5 rating from the button's entity, a digit, or words like "very satisfied"."""
    text = (tracker.latest_message.get("text") or "").lower()
    value = next(tracker.get_latest_entity_values(RATING_ENTITY), None)
    if value is None and (found := RATING_IN_TEXT.search(text)):
        value = found.group(1)
    if value is None and not NEGATION.search(text):
        value = next(
            (rating for words, rating in RATING_WORDS if re.search(rf"\b{words}\b", text)), None
        )
    try:
        rating = int(str(value))
    except ValueError:
        return None
    return rating if 1 <= rating <= 5 else None


def rates_a_handoff(tracker: Tracker) -> bool:
    """Whether a rating now is the first since an agent gave this session's chat back: the
    desk keeps it with the handoff. Any other rating is the assistant's alone."""
    events = session_events(tracker)
    resumed = [
        index
        for index, event in enumerate(events)
        if event.get("event") == "action" and event.get("name") == HANDOFF_RESUMED_ACTION
    ]
    if not resumed:
        return False
    return not any(
        event.get("event") == "slot" and event.get("name") == RATING_SLOT
        for event in events[resumed[-1] :]
    )


class ActionAskSatisfaction(AssistantAction):
    """Asks how satisfied the customer is; run after a resolved request, or again when a
    rating was not understood."""

    def name(self) -> str:
        return ASK_SATISFACTION_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ask_for_rating(dispatcher)
        return []


class ActionRecordSatisfaction(AssistantAction):
    """Keeps the rating and asks whether the customer has anything to add."""

    def name(self) -> str:
        return "action_record_satisfaction"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = rating_given(tracker)
        if rating is None:
            # Asked again by the survey's own action, so a bare number typed next still counts.
            return [FollowupAction(ASK_SATISFACTION_ACTION)]
        if rates_a_handoff(tracker):
            try:
                await self.connector.record_rating(tracker.sender_id, rating)
            except HandoffUnavailable as error:
                logger.warning("rating %s of %s not recorded: %s", rating, tracker.sender_id, error)
        dispatcher.utter_message(response="utter_thanks_for_rating")
        return [SlotSet(RATING_SLOT, str(rating))]


class ActionRecordRatingComment(AssistantAction):
    """Keeps what the customer added after rating (the channels have already masked any card
    number in it)."""

    def name(self) -> str:
        return RATING_COMMENT_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        comment = (tracker.latest_message.get("text") or "").strip()
        if not comment:
            dispatcher.utter_message(response="utter_no_comment_then")
            return []
        dispatcher.utter_message(response="utter_thanks_for_comment")
        return [SlotSet(RATING_COMMENT_SLOT, comment)]
