"""The queues: one per skill, first come first served by the handoff's creation time."""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.desk.models import QUEUED, Handoff
from services.desk.notices import DESK_KIND, position_notice, tell_customer


async def queued_in(session: AsyncSession, skill: str) -> list[Handoff]:
    query = (
        select(Handoff)
        .where(Handoff.status == QUEUED, Handoff.skill == skill)
        .order_by(Handoff.created_at, Handoff.id)
    )
    return list((await session.execute(query)).scalars())


async def queue_length(session: AsyncSession, skill: str) -> int:
    query = (
        select(func.count())
        .select_from(Handoff)
        .where(Handoff.status == QUEUED, Handoff.skill == skill)
    )
    return (await session.execute(query)).scalar_one()


async def position_of(session: AsyncSession, handoff: Handoff) -> int | None:
    if handoff.status != QUEUED:
        return None
    ahead = (
        select(func.count())
        .select_from(Handoff)
        .where(
            Handoff.status == QUEUED,
            Handoff.skill == handoff.skill,
            (Handoff.created_at < handoff.created_at)
            | ((Handoff.created_at == handoff.created_at) & (Handoff.id < handoff.id)),
        )
    )
    return (await session.execute(ahead)).scalar_one() + 1


async def announce_positions(
    session: AsyncSession,
    skill: str,
    special: Collection[str] = (),
    special_notice: Callable[[int], str] = position_notice,
) -> None:
    """Tells each waiting customer of the skill their place when it changed; the handoffs in
    `special` are told with `special_notice` whatever their place."""
    for position, handoff in enumerate(await queued_in(session, skill), start=1):
        if handoff.id in special:
            text = special_notice(position)
        elif handoff.notified_position != position:
            text = position_notice(position)
        else:
            continue
        await tell_customer(session, handoff, DESK_KIND, text)
        handoff.notified_position = position
