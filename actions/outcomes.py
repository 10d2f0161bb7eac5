"""How a request ended, said as events the analytics read (analytics/sessions.py).

``resolved_request`` is set to "<line>:<operation>" when the assistant carried a request out
or answered it; ``escalation_reason`` when a person is brought in (actions/handoff.py). A
refused, stopped or unknown outcome sets neither, nor does an answer the line's policy hands to
a person: that one is escalated.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions.satisfaction import ASK_SATISFACTION_ACTION, satisfaction_due
from registry.catalogue import Catalogue, Operation

RESOLVED_REQUEST_SLOT = "resolved_request"
ESCALATION_REASON_SLOT = "escalation_reason"


def resolved_request(line: str, request: str) -> SlotSet:
    return SlotSet(RESOLVED_REQUEST_SLOT, f"{line}:{request}")


def resolved(
    tracker: Tracker, operation: Operation, catalogue: Catalogue, offered_next_step: bool
) -> list[EventType]:
    """The events of an operation resolved for the customer: the outcome, and the
    satisfaction question next when this ends what they came for (the answer offered no next
    step)."""
    events: list[EventType] = [resolved_request(operation.line, operation.name)]
    if not offered_next_step and satisfaction_due(tracker, operation, catalogue):
        events.append(FollowupAction(ASK_SATISFACTION_ACTION))
    return events
