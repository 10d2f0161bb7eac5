"""The action server's one connection to the product back ends, and how failures sound.

Actions get the customer from the conversation's channel binding, the client from here,
and say the same thing whenever the back end cannot answer.

The client keeps the reads of each customer (clients/backend.py), so the several actions that
answer one message fetch each resource once, and the profile and what the customer holds serve
the session. Which kept reads a call may use comes from the conversation (``read_scope``, set
by the action server for each action call, actions/server.py), not from this process: the
action server may run as several processes, and the actions of one conversation may reach any
of them. A turn is the latest customer message; what the customer holds may have changed
whenever an operation was attempted, which the conversation records (every attempt sets the
``operation_key`` slot, actions/operation_runner.py), so a read kept before an attempt in any
process is never used after it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from clients.backend import PROFILE_PATH, BackendClient, ReadCache, ReadScope
from common.assistant_settings import action_server_settings
from common.customer_binding import customer_id_from_sender
from registry.slots import OPERATION_KEY_SLOT

# What the customer holds, read to ask "which card?" and to check what they may do: kept for
# the session with their profile (clients/backend.py). Their activity (transactions, bills,
# claims, orders) moves without them, and what answers their question is read afresh every
# turn (a card frozen in the banking app a minute ago shows as frozen).
PROFILE_LIKE_READS = frozenset(
    {
        PROFILE_PATH,
        "/v1/customers/me/accounts",
        "/v1/customers/me/cards",
        "/v1/customers/me/loans",
        "/v1/customers/me/policies",
        "/v1/customers/me/recipients",
    }
)


@lru_cache(maxsize=1)
def shared_backend_client() -> BackendClient:
    """One pooled client per action-server process, configured by its settings."""
    settings = action_server_settings()
    return BackendClient(
        settings.backend.url,
        settings.backend.secret,
        timeout_seconds=settings.backend.timeout_seconds,
        read_cache=ReadCache(settings.cached_customers, settings.session_read_seconds),
    )


def read_scope(sender_id: str, events: list[dict[str, Any]]) -> ReadScope:
    """Which kept back-end reads an action call on this conversation (its id and its events, as
    Rasa sends them) may use; see the module's docstring."""
    turn = holdings = None
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if turn is None and event.get("event") == "user":
            turn = event.get("message_id") or _event_marker(event, index)
        elif (
            holdings is None
            and event.get("event") == "slot"
            and event.get("name") == OPERATION_KEY_SLOT
        ):
            holdings = _event_marker(event, index)
        if turn is not None and holdings is not None:
            break
    return ReadScope(f"{sender_id}/{turn or 'none'}", holdings or "none")


def _event_marker(event: dict[str, Any], index: int) -> str:
    # Rasa stamps every event; a test's made-up conversation may not, but only appends.
    timestamp = event.get("timestamp")
    return f"at {timestamp}" if timestamp is not None else f"#{index}"


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
