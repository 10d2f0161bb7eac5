"""Builds rasa-sdk trackers the way the Rasa server would send them to an action."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def user_event(text: str, intent: str, confidence: float = 0.9) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence}},
    }


def bot_event(text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text}


def tracker_after(
    text: str,
    intent: str = "nlu_fallback",
    intent_ranking: list[dict[str, Any]] | None = None,
    earlier_events: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    sender_id: str = "customer-test",
) -> Tracker:
    """A tracker whose latest event is the customer's message ``text``."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.3},
        "intent_ranking": intent_ranking or [],
        "entities": [],
    }
    events = list(earlier_events or []) + [user_event(text, intent)]
    return Tracker(sender_id, slots or {}, latest, events, False, None, {}, "action_listen")
