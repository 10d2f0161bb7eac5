"""What the console shows an agent: their queue, their chats, callbacks, and one handoff in
full. Every list is filtered in the query by what the agent may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import utcnow
from services.desk.agent_work import visible_handoff
from services.desk.assist import suggest
from services.desk.context import Desk
from services.desk.models import (
    ALL_SKILLS,
    ASSIGNED,
    QUEUED,
    TICKET,
    Agent,
    Handoff,
    HandoffMessage,
)
from services.desk.profile_facts import profile_lines
from services.desk.queue import position_of
from services.desk.times import aware, local_iso
from services.desk.transcript import CUSTOMER, line_json, lines_of


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "username": agent.username,
        "display_name": agent.display_name,
        "skills": list(agent.skills),
        "supervisor": agent.supervisor,
    }


def _in_skills(agent: Agent) -> Any:
    return true() if ALL_SKILLS in agent.skills else Handoff.skill.in_(agent.skills)


async def _last_customer_messages(session: AsyncSession, handoff_ids: list[str]) -> dict[str, str]:
    if not handoff_ids:
        return {}
    query = (
        select(HandoffMessage.handoff_id, HandoffMessage.text)
        .where(HandoffMessage.handoff_id.in_(handoff_ids), HandoffMessage.author == CUSTOMER)
        .order_by(HandoffMessage.at, HandoffMessage.id)
    )
    return {handoff_id: text for handoff_id, text in await session.execute(query)}


def item_json(
    desk: Desk,
    handoff: Handoff,
    position: int | None,
    last_message: str | None,
    agent_name: str | None = None,
) -> dict[str, Any]:
    return {
        "handoff_id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "customer_id": handoff.customer_id,
        "customer_name": handoff.customer_name,
        "skill": handoff.skill,
        "reason": handoff.reason,
        "reason_detail": handoff.reason_detail,
        "status": handoff.status,
        "position": position,
        "created_at": aware(handoff.created_at).isoformat(),
        "waiting_seconds": max(0, int((utcnow() - handoff.created_at).total_seconds())),
        "customer_present": handoff.customer_present,
        "ticket_reason": handoff.ticket_reason,
        "callback_due_at": local_iso(handoff.callback_due_at, desk.settings.zone),
        "agent_name": agent_name,
        "last_message": last_message,
    }


async def overview(desk: Desk, agent: Agent) -> dict[str, Any]:
    """The queue of the agent's skills (with places), their own chats, and callbacks due."""
    async with desk.db.reading() as session:
        visible = (
            (
                await session.execute(
                    select(Handoff)
                    .where(
                        or_(
                            (Handoff.status == ASSIGNED) & (Handoff.agent_id == agent.id),
                            Handoff.status.in_((QUEUED, TICKET)) & _in_skills(agent),
                        )
                    )
                    .order_by(Handoff.created_at, Handoff.id)
                )
            )
            .scalars()
            .all()
        )
        last = await _last_customer_messages(session, [handoff.id for handoff in visible])
    places: dict[str, int] = {}
    queue, mine, callbacks = [], [], []
    for handoff in visible:
        if handoff.status == QUEUED:
            places[handoff.skill] = places.get(handoff.skill, 0) + 1
            queue.append(item_json(desk, handoff, places[handoff.skill], last.get(handoff.id)))
        elif handoff.status == ASSIGNED:
            mine.append(item_json(desk, handoff, None, last.get(handoff.id), agent.display_name))
        else:
            callbacks.append(item_json(desk, handoff, None, last.get(handoff.id)))
    callbacks.sort(key=lambda item: item["callback_due_at"] or "")
    return {"agent": agent_json(agent), "queue": queue, "mine": mine, "callbacks": callbacks}


async def detail(desk: Desk, agent: Agent, handoff_id: str) -> dict[str, Any]:
    async with desk.db.reading() as session:
        handoff = await visible_handoff(session, agent, handoff_id)
        lines = await lines_of(session, handoff.id)
        holder = await session.get(Agent, handoff.agent_id) if handoff.agent_id else None
        position = await position_of(session, handoff)
    last_message = next((line.text for line in reversed(lines) if line.author == CUSTOMER), None)
    return {
        **item_json(desk, handoff, position, last_message, holder.display_name if holder else None),
        "summary": handoff.summary,
        "profile": handoff.profile,
        "profile_lines": profile_lines(handoff.profile),
        "intents": handoff.intents,
        "slots": handoff.slots,
        "rating": handoff.rating,
        "transcript": [line_json(line) for line in lines],
        "mine": handoff.agent_id == agent.id and handoff.status == ASSIGNED,
    }


async def assist(desk: Desk, agent: Agent, handoff_id: str, draft: str) -> dict[str, Any]:
    async with desk.db.reading() as session:
        handoff = await visible_handoff(session, agent, handoff_id)
        lines = await lines_of(session, handoff.id)
    last_said = next((line.text for line in reversed(lines) if line.author == CUSTOMER), "")
    suggestions = suggest(
        desk.settings.domain_dir, draft, last_said, handoff.slots or {}, handoff.profile
    )
    return {"suggestions": [{"text": s.text, "source": s.source} for s in suggestions]}
