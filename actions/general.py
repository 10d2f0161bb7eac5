"""Actions of the general conversation layer shared by all product lines."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.assistant_domain import intent_name
from registry.catalogue import Catalogue, default_catalogue


def capabilities_message(catalogue: Catalogue, domain_intents: list[str]) -> str:
    lines = catalogue.product_lines_in(domain_intents)
    if not lines:
        return (
            "Right now I can answer general questions about this service, and I can put "
            "you in touch with a person whenever you like."
        )
    bullets = "\n".join(f"- {line.title}: {line.summary}" for line in lines)
    return f"Here is what I can help you with:\n{bullets}\nJust tell me what you need."


def explain_capabilities(dispatcher: CollectingDispatcher, domain: dict[str, Any]) -> None:
    """Says what the assistant can help with: the product lines whose intents the domain has."""
    intents = [intent_name(intent) for intent in domain.get("intents", [])]
    dispatcher.utter_message(text=capabilities_message(default_catalogue(), intents))


class ActionExplainCapabilities(Action):
    def name(self) -> str:
        return "action_explain_capabilities"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        explain_capabilities(dispatcher, domain)
        return []
