"""'What do I have with you?': the signed-in customer's products, from the back end."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_access import apologise_for_unavailable_backend, signed_in_customer
from actions.base import AssistantAction
from actions.outcomes import resolved_request
from clients.backend import BackendError
from registry.catalogue import GENERAL_LINE

logger = logging.getLogger(__name__)

OVERVIEW_INTENT = "customer_overview"

PRODUCT_NAMES = {
    "wallet": "a wallet",
    "bank_account": "a bank account",
    "debit_card": "a debit card",
    "credit_line": "a credit line",
    "loan": "a loan",
    "insurance": "insurance",
    "fund": "money-market fund savings",
}


def describe_products(products: list[str]) -> str:
    names = [PRODUCT_NAMES.get(product, product.replace("_", " ")) for product in products]
    if not names:
        return "no products yet"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


class ActionShowCustomerOverview(AssistantAction):
    def name(self) -> str:
        return "action_show_customer_overview"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        customer_id = signed_in_customer(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_sign_in_needed")
            return []
        try:
            profile = await self.client.get_profile(customer_id)
        except BackendError as error:
            logger.warning("customer overview failed for %s: %s", customer_id, error)
            apologise_for_unavailable_backend(dispatcher, "/customer_overview")
            return []
        dispatcher.utter_message(
            response="utter_customer_overview",
            name=profile["name"],
            products=describe_products(profile.get("products", [])),
        )
        # Answered, though not the end of what they came for: the answer asks what they
        # would like to do, so no satisfaction question follows.
        return [
            SlotSet("customer_name", profile["name"]),
            resolved_request(GENERAL_LINE, OVERVIEW_INTENT),
        ]
