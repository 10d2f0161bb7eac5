"""What comes in from the assistant's side: a conversation handed to people, the customer's
messages while people have it, their presence, and their rating afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import new_id, utcnow
from services.desk.context import Desk
from services.desk.models import (
    ASSIGNED,
    OPEN_STATUSES,
    QUEUED,
    RESOLVED,
    TICKET,
    Agent,
    Handoff,
    HandoffMessage,
)
from services.desk.notices import CUSTOMER_BACK, CUSTOMER_LEFT
from services.desk.outbox import push_again_offline_messages
from services.desk.queue import position_of, queue_length
from services.desk.schemas import HandoffIn
from services.desk.summary import summarise
from services.desk.times import from_epoch, local_iso, naive_utc
from services.desk.transcript import AGENT, CUSTOMER, SYSTEM, add_line, add_line_once, line_json


@dataclass(frozen=True)
class Routing:
    """Where a new handoff goes: a queue, or a ticket with a promised callback."""

    status: str
    ticket_reason: str | None = None
    callback_due_at: datetime | None = None
    opens_at: datetime | None = None


async def route(desk: Desk, session: AsyncSession, skill: str, now: datetime) -> Routing:
    moment = now.replace(tzinfo=timezone.utc)
    if not desk.hours.is_open(moment):
        opening = desk.hours.next_opening(moment)
        opens_at = naive_utc(opening) if opening else None
        return Routing(TICKET, "closed", callback_due_at=opens_at, opens_at=opens_at)
    callback = now + timedelta(hours=desk.settings.callback_hours)
    if not desk.hub.serves_now(skill):
        return Routing(TICKET, "no_agent", callback_due_at=callback)
    if await queue_length(session, skill) >= desk.settings.max_queue:
        return Routing(TICKET, "queue_full", callback_due_at=callback)
    return Routing(QUEUED)


async def open_handoff_of(session: AsyncSession, conversation_id: str) -> Handoff | None:
    query = select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES)
    )
    return (await session.execute(query)).scalars().first()


async def describe(desk: Desk, session: AsyncSession, handoff: Handoff) -> dict[str, Any]:
    zone = desk.settings.zone
    return {
        "handoff_id": handoff.id,
        "status": handoff.status,
        "position": await position_of(session, handoff),
        "ticket_reason": handoff.ticket_reason,
        "callback_due_at": local_iso(handoff.callback_due_at, zone),
        "opens_at": local_iso(handoff.opens_at, zone),
    }


async def open_handoff(desk: Desk, request: HandoffIn) -> dict[str, Any]:
    """A new handoff, or the conversation's open one (asking twice opens one)."""
    try:
        async with desk.db.writing() as session:
            existing = await open_handoff_of(session, request.conversation_id)
            if existing is not None:
                return await describe(desk, session, existing)
            handoff = await _new_handoff(desk, session, request)
            answer = await describe(desk, session, handoff)
    except IntegrityError:
        # Another request for this conversation opened one at the same moment: that one wins.
        async with desk.db.reading() as session:
            existing = await open_handoff_of(session, request.conversation_id)
            if existing is None:
                raise
            return await describe(desk, session, existing)
    desk.hub.publish(
        {"type": "handoff", "change": "created", "handoff_id": handoff.id}, skill=handoff.skill
    )
    return answer


async def _new_handoff(desk: Desk, session: AsyncSession, request: HandoffIn) -> Handoff:
    now = utcnow()
    routing = await route(desk, session, request.skill, now)
    handoff = Handoff(
        id=new_id("H"),
        conversation_id=request.conversation_id,
        customer_id=request.customer_id,
        customer_name=request.customer_name,
        channel=request.channel,
        skill=request.skill,
        reason=request.reason,
        reason_detail=request.reason_detail,
        intents=[intent.dict() for intent in request.intents],
        slots=request.slots,
        profile=request.profile,
        summary=summarise(request),
        status=routing.status,
        ticket_reason=routing.ticket_reason,
        callback_due_at=routing.callback_due_at,
        opens_at=routing.opens_at,
        created_at=now,
        customer_present=True,
    )
    session.add(handoff)
    await session.flush()
    seen: set[str] = set()
    for line in request.transcript:
        if line.message_id is not None:
            if line.message_id in seen:
                continue
            seen.add(line.message_id)
        await add_line(
            session,
            handoff.id,
            line.author,
            line.text,
            from_epoch(line.timestamp),
            message_id=line.message_id,
        )
    # The assistant tells the customer their place itself; a notice follows only on a change.
    handoff.notified_position = await position_of(session, handoff)
    return handoff


async def open_handoff_status(desk: Desk, conversation_id: str) -> dict[str, Any] | None:
    async with desk.db.reading() as session:
        handoff = await open_handoff_of(session, conversation_id)
        if handoff is None:
            return None
        agent = await session.get(Agent, handoff.agent_id) if handoff.agent_id else None
        return {
            "handoff_id": handoff.id,
            "status": handoff.status,
            "position": await position_of(session, handoff),
            "agent_name": agent.display_name if agent else None,
        }


async def sent_message(desk: Desk, message_id: str) -> dict[str, Any] | None:
    """What the desk itself sent under ``message_id`` (an agent's message, written only while
    that agent held the claim, or a desk notice), for the relay to check a message against."""
    async with desk.db.reading() as session:
        found = (
            await session.execute(
                select(HandoffMessage, Handoff)
                .join(Handoff, Handoff.id == HandoffMessage.handoff_id)
                .where(
                    HandoffMessage.message_id == message_id,
                    HandoffMessage.author.in_((AGENT, SYSTEM)),
                )
            )
        ).first()
    if found is None:
        return None
    line, handoff = found
    return {
        "conversation_id": handoff.conversation_id,
        "kind": "agent" if line.author == AGENT else "desk",
        "agent_name": line.agent_name,
        "text": line.text,
    }


def _watchers(handoff: Handoff) -> dict[str, Any]:
    """Who may see what happens in this handoff: its agent, or the queue's agents."""
    if handoff.status == ASSIGNED and handoff.agent_id:
        return {"agent_ids": [handoff.agent_id]}
    return {"skill": handoff.skill}


async def customer_message(
    desk: Desk, conversation_id: str, message_id: str, text: str, timestamp: float
) -> bool:
    """Stores the message in the open handoff (once per message id); False when none is open."""
    try:
        async with desk.db.writing() as session:
            handoff = await open_handoff_of(session, conversation_id)
            if handoff is None:
                return False
            line = await add_line_once(
                session, handoff.id, CUSTOMER, text, from_epoch(timestamp), message_id
            )
    except IntegrityError:
        return True  # the same message arrived twice at the same moment; one copy is stored
    if line is not None:
        desk.hub.publish(
            {"type": "message", "handoff_id": handoff.id, "message": line_json(line)},
            **_watchers(handoff),
        )
    return True


async def presence(desk: Desk, conversation_id: str, present: bool) -> bool:
    async with desk.db.writing() as session:
        handoff = await open_handoff_of(session, conversation_id)
        if handoff is None:
            return False
        if handoff.customer_present == present:
            return True
        handoff.customer_present = present
        line = await add_line(
            session, handoff.id, SYSTEM, CUSTOMER_BACK if present else CUSTOMER_LEFT, utcnow()
        )
        if present:
            await push_again_offline_messages(session, handoff.id)
    if present:
        desk.outbox.wake()
    watchers = _watchers(handoff)
    desk.hub.publish(
        {"type": "message", "handoff_id": handoff.id, "message": line_json(line)}, **watchers
    )
    desk.hub.publish(
        {"type": "handoff", "change": "presence", "handoff_id": handoff.id, "present": present},
        **watchers,
    )
    return True


async def rate(desk: Desk, conversation_id: str, rating: int) -> str | None:
    """Stores the rating on the conversation's latest resolved handoff; its id, or None."""
    async with desk.db.writing() as session:
        # Only a chat an agent took: a callback ticket never handed the chat back to the bot.
        query = (
            select(Handoff)
            .where(
                Handoff.conversation_id == conversation_id,
                Handoff.status == RESOLVED,
                Handoff.assigned_at.is_not(None),
            )
            .order_by(Handoff.resolved_at.desc())
            .limit(1)
        )
        handoff = (await session.execute(query)).scalars().first()
        if handoff is None:
            return None
        handoff.rating = rating
        return handoff.id
