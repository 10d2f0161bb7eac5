"""What the desk tells the customer, and how: a transcript line plus a relay in the outbox."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import utcnow
from services.desk.models import Handoff, HandoffMessage
from services.desk.outbox import RELAY, enqueue
from services.desk.transcript import AGENT, SYSTEM, add_line

AGENT_KIND, DESK_KIND = "agent", "desk"
CUSTOMER_LEFT = "The customer left the chat."
CUSTOMER_BACK = "The customer came back to the chat."


def position_notice(position: int) -> str:
    return f"You are now number {position} in the queue."


def joined_notice(agent_name: str) -> str:
    return f"{agent_name} has joined the chat."


def agent_lost_notice(position: int) -> str:
    return f"Your agent was disconnected; you are back at number {position} in the queue."


def new_message_id() -> str:
    return f"desk-{uuid.uuid4().hex}"


async def tell_customer(
    session: AsyncSession, handoff: Handoff, kind: str, text: str, agent_name: str | None = None
) -> HandoffMessage:
    """An agent's message (kind agent) or the desk's own notice (kind desk), recorded in the
    transcript and owed to Rasa in the same transaction."""
    message_id = new_message_id()
    line = await add_line(
        session,
        handoff.id,
        AGENT if kind == AGENT_KIND else SYSTEM,
        text,
        utcnow(),
        message_id=message_id,
        agent_name=agent_name if kind == AGENT_KIND else None,
    )
    enqueue(
        session,
        handoff.conversation_id,
        handoff.id,
        RELAY,
        {
            "conversation_id": handoff.conversation_id,
            "message_id": message_id,
            "kind": kind,
            "agent_name": agent_name if kind == AGENT_KIND else None,
            "text": text,
        },
    )
    return line
