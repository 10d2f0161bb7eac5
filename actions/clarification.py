"""What the assistant does when it is not sure what the customer meant."""

from __future__ import annotations

import unicodedata
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.handoff import REASON_DETAILS, hand_off
from registry.catalogue import Catalogue, default_catalogue

FALLBACK_INTENT = "nlu_fallback"
MAX_GUESSES = 3
# Guesses below this confidence are noise; offering them would confuse more than help.
MIN_GUESS_CONFIDENCE = 0.05
# Intents that make poor guesses: they are answers or small talk, not requests.
NEVER_GUESSED = {
    FALLBACK_INTENT,
    "out_of_scope",
    "affirm",
    "deny",
    "greet",
    "goodbye",
    "thank",
    "inform",
    "cancel",
}
FAILURES_BEFORE_OFFERING_A_PERSON = 2
# One more after the offer and a person is brought in without asking again.
FAILURES_BEFORE_HANDING_OFF = 3


def consecutive_failures(events: list[dict[str, Any]]) -> int:
    """How many of the customer's latest messages in a row were not understood.

    Saying "none of these" to a clarifying question keeps the streak going; any other
    understood message ends it.
    """
    failures = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent == FALLBACK_INTENT:
            failures += 1
        elif intent != "deny":
            break
    return failures


def top_guesses(
    intent_ranking: list[dict[str, Any]], catalogue: Catalogue
) -> list[tuple[str, str]]:
    guesses = []
    for candidate in intent_ranking:
        name = candidate.get("name")
        if not name or name in NEVER_GUESSED:
            continue
        if candidate.get("confidence", 0.0) < MIN_GUESS_CONFIDENCE:
            continue
        description = catalogue.describe(name)
        if description:
            guesses.append((name, description))
        if len(guesses) == MAX_GUESSES:
            break
    return guesses


def is_written_in_another_script(text: str) -> bool:
    """True when the message has letters but none of them Latin (e.g. Chinese, Arabic)."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return False
    return not any("LATIN" in unicodedata.name(char, "") for char in letters)


class ActionClarifyRequest(AssistantAction):
    def name(self) -> str:
        return "action_clarify_request"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        failures = consecutive_failures(tracker.events)
        if failures >= FAILURES_BEFORE_HANDING_OFF:
            return await hand_off(
                dispatcher,
                tracker,
                domain,
                "repeated_fallback",
                REASON_DETAILS["repeated_fallback"],
                self.client,
                self.connector,
            )
        if failures >= FAILURES_BEFORE_OFFERING_A_PERSON:
            dispatcher.utter_message(response="utter_offer_person_after_failures")
            return []
        if is_written_in_another_script(text):
            dispatcher.utter_message(response="utter_english_only")
            return []
        guesses = top_guesses(
            tracker.latest_message.get("intent_ranking") or [], default_catalogue()
        )
        if not guesses:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [
            {"title": description, "payload": f"/{intent}"} for intent, description in guesses
        ]
        buttons.append({"title": "None of these", "payload": "/deny"})
        dispatcher.utter_message(response="utter_ask_which_request", buttons=buttons)
        return []
