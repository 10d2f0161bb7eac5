"""The notice of a back-end event, sent when the notifier (proactive/notifier.py) triggers the
external intent EXTERNAL_proactive_notice with the event's id in a customer's conversation.

The event is read from the back end as the conversation's signed-in customer, so an id that is
not theirs reads as unknown: nothing in the trigger is trusted but the id. The notice is the
event's scenario (capabilities/<line>.yml, ``proactive:``) in the customer's words, with one
button that starts the scenario's operation on the event's item. An anonymous conversation, an
unknown event or a kind without a notice gets nothing.

The notifier does not interrupt a form or a human agent's chat: it waits until they are over.
A form that begins between its look and the trigger is given the trigger by Rasa (a form in
progress gets every message), so this action does not run and the notifier tries again later.
A human agent who takes the chat in that moment does not see the assistant talk over them:
nothing is said. Whenever nothing is said, the trigger is taken back
(``UserUtteranceReverted``) and the assistant listens, leaving the conversation as it was.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_access import signed_in_customer
from actions.base import AssistantAction
from actions.proactive_wording import word_scenario
from clients.backend import BackendError
from common.clock import utcnow
from registry.catalogue import default_catalogue

logger = logging.getLogger(__name__)

EVENT_ENTITY = "event_id"
# The conversation as it was before the trigger, the assistant waiting for the customer.
AS_BEFORE: list[EventType] = [UserUtteranceReverted(), FollowupAction("action_listen")]


class ActionSendProactiveNotice(AssistantAction):
    def name(self) -> str:
        return "action_send_proactive_notice"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        customer_id = signed_in_customer(tracker)
        event_id = next(tracker.get_latest_entity_values(EVENT_ENTITY), None)
        if customer_id is None or not event_id:
            return AS_BEFORE
        if tracker.is_paused():
            # A human agent has the chat: the assistant does not talk over them.
            return AS_BEFORE
        try:
            event = await self.client.call(
                customer_id,
                "GET",
                f"/v1/customers/me/events/{urllib.parse.quote(str(event_id), safe='')}",
            )
        except BackendError as error:
            if error.kind != "not_found":
                logger.warning("the event of a notice could not be read (%s)", error.kind)
            return AS_BEFORE
        catalogue = default_catalogue()
        scenario = catalogue.scenarios.get(str(event.get("kind")))
        if scenario is None or not scenario.notice:
            return AS_BEFORE
        try:
            profile = await self.client.get_profile(customer_id)
            worded = await word_scenario(
                self.client, customer_id, scenario, event, utcnow(), profile
            )
        except BackendError as error:
            logger.warning("a notice could not be worded (%s)", error.kind)
            return AS_BEFORE
        dispatcher.utter_message(
            text=worded.notice,
            buttons=[
                {
                    "title": catalogue.describe(scenario.question) or scenario.question,
                    "payload": worded.payload,
                }
            ],
        )
        return []
