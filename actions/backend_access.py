"""The action server's one connection to the product back ends, and how failures sound.

Actions get the customer from the conversation's channel binding, the client from here,
and say the same thing whenever the back end cannot answer.
"""

from __future__ import annotations

from functools import lru_cache

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from clients.backend import BackendClient
from common.assistant_settings import action_server_settings
from common.customer_binding import customer_id_from_sender


@lru_cache(maxsize=1)
def shared_backend_client() -> BackendClient:
    """One pooled client per action-server process, configured by its settings."""
    backend = action_server_settings().backend
    return BackendClient(backend.url, backend.secret, timeout_seconds=backend.timeout_seconds)


def signed_in_customer(tracker: Tracker) -> str | None:
    """The customer this conversation is bound to by its channel; None when anonymous."""
    return customer_id_from_sender(tracker.sender_id)


def apologise_for_unavailable_backend(dispatcher: CollectingDispatcher, retry_payload: str) -> None:
    """Apologises and offers to try again or to talk to a person."""
    dispatcher.utter_message(
        response="utter_backend_unavailable",
        buttons=[
            {"title": "Try again", "payload": retry_payload},
            {"title": "Talk to a person", "payload": "/request_human"},
        ],
    )
