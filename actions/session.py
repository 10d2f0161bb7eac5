"""How a conversation session starts."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_access import signed_in_customer
from actions.base import AssistantAction
from clients.backend import BackendError

logger = logging.getLogger(__name__)

# Who the customer is survives a new session; half-finished requests (amounts, card
# numbers, form answers) do not, so an old transfer never resurfaces hours later.
SLOTS_CARRIED_OVER = ("customer_name",)


class ActionSessionStart(AssistantAction):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = {slot: tracker.get_slot(slot) for slot in SLOTS_CARRIED_OVER}
        customer_id = signed_in_customer(tracker)
        if customer_id is not None:
            carried["customer_name"] = (
                await self._customer_name(customer_id) or carried["customer_name"]
            )
        events += [SlotSet(slot, value) for slot, value in carried.items() if value is not None]
        events.append(ActionExecuted("action_listen"))
        return events

    async def _customer_name(self, customer_id: str) -> str | None:
        """The name to greet the customer by; a greeting never waits on a failing back end."""
        try:
            profile = await self.client.get_profile(customer_id)
        except BackendError as error:
            logger.warning("no profile for %s at session start: %s", customer_id, error)
            return None
        return profile.get("name")
