"""What agents do with handoffs: look, claim, write, resolve; and what happens to their
conversations when they are gone.

An agent sees a handoff assigned to them, or one queued or ticketed in a skill they serve;
anything else answers as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError, not_found
from common.clock import utcnow
from services.desk.context import Desk
from services.desk.models import ASSIGNED, QUEUED, RESOLVED, TICKET, Agent, Handoff
from services.desk.notices import (
    AGENT_KIND,
    DESK_KIND,
    agent_lost_notice,
    joined_notice,
    tell_customer,
)
from services.desk.outbox import RESUME, TRIGGER_INTENT, enqueue
from services.desk.queue import announce_positions
from services.desk.transcript import SYSTEM, add_line, line_json

RESOLVED_INTENT = "EXTERNAL_handoff_resolved"


def may_see(agent: Agent, handoff: Handoff) -> bool:
    if handoff.agent_id == agent.id:
        return True
    return handoff.status in (QUEUED, TICKET) and agent.serves(handoff.skill)


async def visible_handoff(session: AsyncSession, agent: Agent, handoff_id: str) -> Handoff:
    handoff = await session.get(Handoff, handoff_id)
    if handoff is None or not may_see(agent, handoff):
        raise not_found("handoff")
    return handoff


async def claim(desk: Desk, agent: Agent, handoff_id: str) -> None:
    async with desk.db.writing() as session:
        handoff = await session.get(Handoff, handoff_id)
        # An agent of the skill learns that someone was quicker (409); nobody else learns
        # that the handoff exists.
        if handoff is None or not (may_see(agent, handoff) or agent.serves(handoff.skill)):
            raise not_found("handoff")
        # Atomic in SQL: of two agents claiming at once, the database lets exactly one through.
        taken = await session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == QUEUED)
            .values(status=ASSIGNED, agent_id=agent.id, assigned_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise ApiError(409, "already_taken", "this conversation is no longer waiting")
        await session.refresh(handoff)
        await tell_customer(session, handoff, DESK_KIND, joined_notice(agent.display_name))
        await announce_positions(session, handoff.skill)
    desk.outbox.wake()
    desk.hub.publish(
        {
            "type": "handoff",
            "change": "claimed",
            "handoff_id": handoff_id,
            "agent_name": agent.display_name,
        },
        agent_ids=[agent.id],
        skill=handoff.skill,
    )


async def send_message(desk: Desk, agent: Agent, handoff_id: str, text: str) -> dict[str, Any]:
    async with desk.db.writing() as session:
        handoff = await visible_handoff(session, agent, handoff_id)
        if handoff.status != ASSIGNED:
            raise ApiError(409, "not_assigned", "only the agent who has this chat writes in it")
        line = await tell_customer(
            session, handoff, AGENT_KIND, text, agent_name=agent.display_name
        )
    desk.outbox.wake()
    message = line_json(line)
    desk.hub.publish(
        {"type": "message", "handoff_id": handoff_id, "message": message}, agent_ids=[agent.id]
    )
    return message


async def resolve(desk: Desk, agent: Agent, handoff_id: str) -> None:
    """Ends a chat (the bot takes the conversation back) or marks a callback done."""
    async with desk.db.writing() as session:
        handoff = await visible_handoff(session, agent, handoff_id)
        if handoff.status == ASSIGNED:
            await _end_chat(session, agent, handoff)
        elif handoff.status == TICKET:
            await _close_ticket(session, agent, handoff)
        else:
            raise ApiError(
                409, "not_resolvable", f"a {handoff.status} conversation cannot be resolved"
            )
    desk.outbox.wake()
    desk.hub.publish(
        {"type": "handoff", "change": "resolved", "handoff_id": handoff_id},
        agent_ids=[agent.id],
        skill=handoff.skill,
    )


async def _end_chat(session: AsyncSession, agent: Agent, handoff: Handoff) -> None:
    ended = await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == ASSIGNED, Handoff.agent_id == agent.id)
        .values(status=RESOLVED, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:
        raise ApiError(409, "not_resolvable", "this conversation has already changed")
    await add_line(
        session,
        handoff.id,
        SYSTEM,
        f"{agent.display_name} resolved the conversation; the assistant is back.",
        utcnow(),
    )
    # Queued behind any of the agent's messages still owed to Rasa.
    enqueue(session, handoff.conversation_id, handoff.id, RESUME, {})
    enqueue(
        session,
        handoff.conversation_id,
        handoff.id,
        TRIGGER_INTENT,
        {"name": RESOLVED_INTENT, "entities": {"agent_name": agent.display_name}},
    )


async def _close_ticket(session: AsyncSession, agent: Agent, handoff: Handoff) -> None:
    closed = await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == TICKET)
        .values(status=RESOLVED, resolved_at=utcnow(), agent_id=agent.id)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        raise ApiError(409, "not_resolvable", "this callback has already changed")
    await add_line(
        session, handoff.id, SYSTEM, f"{agent.display_name} marked the callback done.", utcnow()
    )


async def hand_back(desk: Desk, agent_id: str) -> None:
    """The agent is gone: their chats go back to the front of their queues, in their original
    order, and the customers are told."""
    async with desk.db.writing() as session:
        agent = await session.get(Agent, agent_id)
        held = list(
            (
                await session.execute(
                    select(Handoff).where(Handoff.agent_id == agent_id, Handoff.status == ASSIGNED)
                )
            ).scalars()
        )
        if agent is None or not held:
            return
        for handoff in held:
            handoff.status, handoff.agent_id, handoff.assigned_at = QUEUED, None, None
            await add_line(
                session,
                handoff.id,
                SYSTEM,
                f"{agent.display_name} was disconnected; the conversation went back to the queue.",
                utcnow(),
            )
        await session.flush()
        returned = {handoff.id for handoff in held}
        for skill in sorted({handoff.skill for handoff in held}):
            await announce_positions(
                session, skill, special=returned, special_notice=agent_lost_notice
            )
    desk.outbox.wake()
    for skill in {handoff.skill for handoff in held}:
        desk.hub.publish(
            {"type": "handoff", "change": "requeued"}, agent_ids=[agent_id], skill=skill
        )


async def agents_holding_chats(desk: Desk) -> list[str]:
    async with desk.db.reading() as session:
        query = select(Handoff.agent_id).where(Handoff.status == ASSIGNED).distinct()
        return [agent_id for agent_id in (await session.execute(query)).scalars() if agent_id]
