"""The lines of a handoff's transcript, stored once per message id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.desk.models import HandoffMessage
from services.desk.times import aware, to_epoch

CUSTOMER, BOT, AGENT, SYSTEM = "customer", "bot", "agent", "system"


async def add_line(
    session: AsyncSession,
    handoff_id: str,
    author: str,
    text: str,
    at: datetime,
    message_id: str | None = None,
    agent_name: str | None = None,
) -> HandoffMessage:
    line = HandoffMessage(
        handoff_id=handoff_id,
        author=author,
        text=text,
        at=at,
        message_id=message_id,
        agent_name=agent_name,
    )
    session.add(line)
    await session.flush()
    return line


async def add_line_once(
    session: AsyncSession, handoff_id: str, author: str, text: str, at: datetime, message_id: str
) -> HandoffMessage | None:
    """The new line, or None when a line with this message id is already stored."""
    stored = await session.scalar(
        select(HandoffMessage.id).where(
            HandoffMessage.handoff_id == handoff_id, HandoffMessage.message_id == message_id
        )
    )
    if stored is not None:
        return None
    return await add_line(session, handoff_id, author, text, at, message_id=message_id)


async def lines_of(session: AsyncSession, handoff_id: str) -> list[HandoffMessage]:
    query = (
        select(HandoffMessage)
        .where(HandoffMessage.handoff_id == handoff_id)
        .order_by(HandoffMessage.at, HandoffMessage.id)
    )
    return list((await session.execute(query)).scalars())


def line_json(line: HandoffMessage) -> dict[str, Any]:
    return {
        "id": line.id,
        "message_id": line.message_id,
        "author": line.author,
        "agent_name": line.agent_name,
        "text": line.text,
        "at": aware(line.at).isoformat(),
        "timestamp": to_epoch(line.at),
    }
