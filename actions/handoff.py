"""Handing a conversation to a person, and the way back to the assistant.

Four things bring in a person: the customer asks for one; the assistant fails to understand
three times in a row; a line's policy (capabilities/<line>.yml ``handoff:``) sends the case to
people (a complaint, a fraud report, an account only a specialist can unlock); the back end is
down and the customer would rather not wait. Whatever the trigger, ``hand_off`` sends the
conversation with its context to the desk through the configured connector. With a place in a
queue the assistant pauses (ConversationPaused) and the customer's messages go to the agent;
outside business hours or with nobody free the customer gets a ticket and a promised callback.
When the agent resolves, the desk resumes the conversation and triggers
``EXTERNAL_handoff_resolved``: the assistant says it is back and asks for a rating.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_access import signed_in_customer
from actions.base import AssistantAction
from actions.handoff_connector import (
    HandoffConnector,
    HandoffOutcome,
    HandoffReason,
    HandoffRequest,
    HandoffUnavailable,
    TranscriptLine,
)
from actions.outcomes import ESCALATION_REASON_SLOT
from actions.rendering import customer_zone, time_text
from actions.satisfaction import ask_for_rating
from clients.backend import BackendClient, BackendError
from common.system_intents import is_system_intent
from registry.catalogue import GENERAL_LINE, Catalogue, default_catalogue
from registry.slots import PRIVATE_SLOTS

logger = logging.getLogger(__name__)

REQUEST_HUMAN_INTENT = "request_human"
# Said first, when present: utter_handoff_lead_<policy intent> or utter_handoff_lead_<reason>.
HANDOFF_LEAD = "utter_handoff_lead"
AGENT_NAME_ENTITY = "agent_name"
MAX_TRANSCRIPT_LINES = 200
# What the customer saw just before asking for a person tells why they asked.
REASON_BY_PREVIOUS_RESPONSE: dict[str, HandoffReason] = {
    "utter_backend_unavailable": "backend_outage",
    "utter_offer_person_after_failures": "repeated_fallback",
}
REASON_DETAILS = {
    "customer_request": "Asked for a person",
    "repeated_fallback": "The assistant did not understand several messages in a row",
    "backend_outage": "Our systems could not answer and the customer chose not to wait",
}


# -- context for the agent --------------------------------------------------------------------
def transcript(tracker: Tracker) -> tuple[TranscriptLine, ...]:
    lines = []
    for event in tracker.events:
        text = event.get("text")
        if event.get("event") not in ("user", "bot") or not text:
            continue
        if event["event"] == "user" and is_system_intent(
            ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        ):
            continue
        lines.append(
            TranscriptLine(
                author="customer" if event["event"] == "user" else "bot",
                text=str(text),
                timestamp=float(event.get("timestamp") or 0.0),
                message_id=event.get("message_id") if event["event"] == "user" else None,
            )
        )
    return tuple(lines[-MAX_TRANSCRIPT_LINES:])


def detected_intents(tracker: Tracker, catalogue: Catalogue) -> tuple[dict[str, Any], ...]:
    found = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        name = intent.get("name")
        if not name or is_system_intent(name):
            continue
        found.append(
            {
                "name": name,
                "description": catalogue.describe(name) or name.replace("_", " "),
                "confidence": round(float(intent.get("confidence") or 0.0), 3),
            }
        )
    return tuple(found)


def shareable_slots(tracker: Tracker) -> dict[str, Any]:
    return {
        name: value
        for name, value in tracker.slots.items()
        if value not in (None, "", []) and name not in PRIVATE_SLOTS
    }


def skill_for(tracker: Tracker, catalogue: Catalogue) -> str:
    """The queue of the product line the customer was last talking about; general if none."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        line = catalogue.line_of_intent(intent or "")
        if line is not None and line.name != GENERAL_LINE:
            return line.handoff.skill
    return catalogue.handoff_skill(latest_intent_name(tracker))


def latest_intent_name(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def previous_response(tracker: Tracker) -> str | None:
    """The response the assistant gave just before the customer's latest message."""
    seen_latest_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest_message:
                return None
            seen_latest_message = True
        elif event.get("event") == "bot" and seen_latest_message:
            return (event.get("metadata") or {}).get("utter_action")
    return None


def reason_for_request(tracker: Tracker, catalogue: Catalogue) -> tuple[HandoffReason, str]:
    """Why the customer is being handed over, when they asked (or policy asks) by intent."""
    intent = latest_intent_name(tracker) or ""
    if intent in catalogue.policy_handoff_intents():
        return "policy", catalogue.describe(intent) or intent
    reason = REASON_BY_PREVIOUS_RESPONSE.get(previous_response(tracker) or "", "customer_request")
    return reason, REASON_DETAILS[reason]


# -- the handoff itself -----------------------------------------------------------------------
def when(iso_time: str | None, zone: ZoneInfo) -> str:
    """A desk time (ISO 8601 with the desk's zone) on the customer's clock ``zone``:
    "Mon 30 Nov 2026, 09:00 (Beijing time)"."""
    if not iso_time:
        return "as soon as possible"
    try:
        return time_text(datetime.fromisoformat(iso_time), zone, weekday=True)
    except ValueError:
        return iso_time


async def customer_profile(client: BackendClient, customer_id: str | None) -> dict[str, Any] | None:
    if customer_id is None:
        return None
    try:
        return await client.get_profile(customer_id)
    except BackendError as error:
        # The agent can still help without it; the back end may be the very problem.
        logger.warning("handoff without profile for %s: %s", customer_id, error)
        return None


def say_outcome(
    dispatcher: CollectingDispatcher, outcome: HandoffOutcome, signed_in: bool, zone: ZoneInfo
) -> None:
    if outcome.status == "assigned":
        dispatcher.utter_message(response="utter_handoff_assigned")
    elif outcome.status == "queued":
        dispatcher.utter_message(
            response="utter_handoff_queued", position=str(outcome.position or 1)
        )
    elif not signed_in and outcome.ticket_reason == "closed":
        dispatcher.utter_message(
            response="utter_handoff_ticket_anonymous_closed",
            opens_at=when(outcome.opens_at, zone),
        )
    elif not signed_in:
        dispatcher.utter_message(response="utter_handoff_ticket_anonymous")
    elif outcome.ticket_reason == "closed":
        dispatcher.utter_message(
            response="utter_handoff_ticket_closed",
            opens_at=when(outcome.opens_at, zone),
            callback_due_at=when(outcome.callback_due_at, zone),
        )
    else:
        dispatcher.utter_message(
            response="utter_handoff_ticket_busy",
            callback_due_at=when(outcome.callback_due_at, zone),
        )


async def hand_off(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    reason: HandoffReason,
    reason_detail: str,
    client: BackendClient,
    connector: HandoffConnector,
) -> list[EventType]:
    """Hands the conversation to people; the events pause the assistant when an agent or a
    queue takes it."""
    catalogue = default_catalogue()
    customer_id = signed_in_customer(tracker)
    lead = f"{HANDOFF_LEAD}_{latest_intent_name(tracker) if reason == 'policy' else reason}"
    if lead in (domain.get("responses") or {}):
        dispatcher.utter_message(response=lead)
    request = HandoffRequest(
        conversation_id=tracker.sender_id,
        customer_id=customer_id,
        channel=tracker.get_latest_input_channel(),
        skill=skill_for(tracker, catalogue),
        reason=reason,
        reason_detail=reason_detail,
        customer_name=tracker.get_slot("customer_name"),
        transcript=transcript(tracker),
        intents=detected_intents(tracker, catalogue),
        slots=shareable_slots(tracker),
        profile=await customer_profile(client, customer_id),
    )
    try:
        outcome = await connector.open_handoff(request)
    except HandoffUnavailable as error:
        logger.error("handoff of %s failed: %s", tracker.sender_id, error)
        dispatcher.utter_message(response="utter_handoff_unreachable")
        return []
    say_outcome(
        dispatcher,
        outcome,
        signed_in=customer_id is not None,
        zone=customer_zone(request.profile),
    )
    escalated = SlotSet(ESCALATION_REASON_SLOT, reason)
    return [escalated, *paused()] if outcome.pauses_the_bot else [escalated]


def paused() -> list[EventType]:
    """Pauses the assistant as if it had then listened: Rasa stops predicting without running
    action_listen, and the rule that greets the customer back after the agent (like every
    rule on a customer's message) expects the turn to start after a listen."""
    return [ConversationPaused(), ActionExecuted("action_listen")]


class ActionRequestHuman(AssistantAction):
    """Brings in a person: asked for, offered after failures or an outage, or by policy."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reason, detail = reason_for_request(tracker, default_catalogue())
        return await hand_off(
            dispatcher, tracker, domain, reason, detail, self.client, self.connector
        )


class ActionHandoffResumed(AssistantAction):
    """The agent resolved the conversation: the assistant is back and asks for a rating."""

    def name(self) -> str:
        return "action_handoff_resumed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        agent_name = next(tracker.get_latest_entity_values(AGENT_NAME_ENTITY), None)
        dispatcher.utter_message(
            response="utter_handoff_back", agent_name=agent_name or "Our colleague"
        )
        ask_for_rating(dispatcher)
        return []
