"""What the assistant does when it is not sure what the customer meant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.general import explain_capabilities
from actions.handoff import REASON_DETAILS, hand_off
from actions.satisfaction import RATING_COMMENT_ACTION
from common.writing_system import is_written_in_another_script
from registry.catalogue import Catalogue, default_catalogue

FALLBACK_INTENT = "nlu_fallback"
# Below this confidence in its best guess the classifier is taken to be reading a request we
# do not serve. Chosen on validation queries with bench/customer_words.py (calibrate), beside
# config.yml's FallbackClassifier threshold, above which no question is asked at all.
OUT_OF_SCOPE_BELOW = 0.25
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
    understood message ends it, and so does a comment on a rating, however unplaceable its
    words were.
    """
    failures = 0
    for event in reversed(events):
        if event.get("event") == "action" and event.get("name") == RATING_COMMENT_ACTION:
            break
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


@dataclass(frozen=True)
class Clarification:
    """What the customer gets for one message: an intent, buttons to choose from, or neither."""

    intent: str | None = None
    buttons: tuple[str, ...] = ()
    out_of_scope: bool = False


def clarify(
    intent_ranking: list[dict[str, Any]],
    catalogue: Catalogue,
    out_of_scope_below: float = OUT_OF_SCOPE_BELOW,
) -> Clarification:
    """The answer to a message the NLU was not sure of.

    When the classifier's best guess is still "out of scope", or no request of ours is even
    a fair guess, the customer gets the out-of-scope answer rather than buttons for requests
    they never made.
    """
    ranking = [entry for entry in intent_ranking if entry.get("name") != FALLBACK_INTENT]
    if not ranking:
        return Clarification()
    best = ranking[0]
    if best.get("name") == "out_of_scope" or best.get("confidence", 0.0) < out_of_scope_below:
        return Clarification(out_of_scope=True)
    return Clarification(buttons=tuple(intent for intent, _ in top_guesses(ranking, catalogue)))


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
        # First, so that a customer who cannot write English is always told why, in Chinese
        # as well as in English, and offered a person, however many messages they have sent.
        if is_written_in_another_script(text):
            dispatcher.utter_message(response="utter_english_only")
            return []
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
        catalogue = default_catalogue()
        answer = clarify(tracker.latest_message.get("intent_ranking") or [], catalogue)
        if answer.out_of_scope:
            # As the out_of_scope rule answers: not a dead end, but what we can do instead.
            dispatcher.utter_message(response="utter_out_of_scope")
            explain_capabilities(dispatcher, domain)
            return []
        if not answer.buttons:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [
            {"title": catalogue.describe(intent), "payload": f"/{intent}"}
            for intent in answer.buttons
        ]
        buttons.append({"title": "None of these", "payload": "/deny"})
        dispatcher.utter_message(response="utter_ask_which_request", buttons=buttons)
        return []
