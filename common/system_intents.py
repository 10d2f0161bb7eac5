"""Intents no customer types: the web chat page's opening message and the external intents the
desk and the notifier trigger through Rasa's HTTP API. They are neither the customer's words
nor a request of theirs, and a customer cannot send an external one."""

from __future__ import annotations

# Sent by the web chat page when a chat opens (it asks for the offers).
CHAT_OPENED_INTENT = "chat_opened"
EXTERNAL_INTENT_PREFIX = "EXTERNAL_"


def is_system_intent(name: str | None) -> bool:
    return bool(name) and (name == CHAT_OPENED_INTENT or name.startswith(EXTERNAL_INTENT_PREFIX))


def is_external_intent_payload(text: str) -> bool:
    """Whether Rasa would read ``text`` as a payload triggering an external intent
    ("/EXTERNAL_handoff_resolved"), which only the desk and the notifier may send."""
    return text.lstrip().startswith(f"/{EXTERNAL_INTENT_PREFIX}")
