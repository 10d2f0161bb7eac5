"""How the action server hands a conversation to human agents: one interface, any desk.

The project's own agent desk (services/desk, through actions/desk_connector.py) is the default.
An external desk (Chatwoot, Zendesk, ...) plugs in by implementing ``HandoffConnector`` and
naming the class in ``HANDOFF_CONNECTOR`` (``package.module:ClassName``); see
actions/HANDOFF.md for what an adapter must do on the way in and on the way back.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

from common.assistant_settings import action_server_settings

HandoffReason = Literal["customer_request", "repeated_fallback", "policy", "backend_outage"]
HandoffStatus = Literal["queued", "assigned", "ticket"]


@dataclass(frozen=True)
class TranscriptLine:
    author: Literal["customer", "bot"]
    text: str
    timestamp: float
    message_id: str | None = None


@dataclass(frozen=True)
class HandoffRequest:
    """Everything an agent needs to take over without asking the customer to repeat
    themselves."""

    conversation_id: str
    customer_id: str | None
    channel: str | None
    skill: str
    reason: HandoffReason
    reason_detail: str
    customer_name: str | None = None
    transcript: tuple[TranscriptLine, ...] = ()
    intents: tuple[dict[str, Any], ...] = ()
    slots: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None


@dataclass(frozen=True)
class HandoffOutcome:
    """What the desk did with the request: a place in a queue (or an agent already), or a
    ticket with a promised callback when nobody can take the chat now."""

    status: HandoffStatus
    position: int | None = None
    ticket_reason: str | None = None
    callback_due_at: str | None = None
    opens_at: str | None = None

    @property
    def pauses_the_bot(self) -> bool:
        return self.status in ("queued", "assigned")


class HandoffUnavailable(Exception):
    """The desk could not be reached or refused the request."""


class HandoffConnector(Protocol):
    async def open_handoff(self, request: HandoffRequest) -> HandoffOutcome:
        """Puts the conversation in front of people; idempotent per conversation."""

    async def record_rating(self, conversation_id: str, rating: int) -> None:
        """Stores the customer's satisfaction rating (1-5) of the last handoff."""


def load_connector(spec: str) -> HandoffConnector:
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise ValueError(f"HANDOFF_CONNECTOR must read 'package.module:ClassName', not {spec!r}")
    connector_class = getattr(importlib.import_module(module_name), class_name)
    return connector_class()


@lru_cache(maxsize=1)
def shared_connector() -> HandoffConnector:
    """One connector per action-server process, chosen by HANDOFF_CONNECTOR."""
    return load_connector(action_server_settings().handoff_connector)
