"""Sandbox-only controls: the simulated device inbox, fault injection and making back-end events
happen. Not a product API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, constr
from sqlalchemy import select

from services.sandbox.auth import get_db, require_service
from services.sandbox.events import EventKind, EventMaker, event_json
from services.sandbox.faults import FaultInjector, FaultSet
from services.sandbox.models import DeviceMessage
from services.sandbox.outbox import OutboxPublisher

router = APIRouter(
    prefix="/sandbox", tags=["sandbox-only"], dependencies=[Depends(require_service)]
)
# Served only where Settings.device_inbox says so: it hands out every customer's one-time codes.
device_router = APIRouter(
    prefix="/sandbox", tags=["sandbox-only"], dependencies=[Depends(require_service)]
)


class EventRequest(BaseModel):
    customer_id: constr(min_length=1, max_length=16)  # type: ignore[valid-type]
    kind: EventKind


def _injector(request: Request) -> FaultInjector:
    return request.app.state.faults


@device_router.get(
    "/devices/{customer_id}/messages",
    summary="Messages 'sent' to the customer's registered phone (sandbox only)",
)
async def device_messages(
    customer_id: str, request: Request, limit: int = Query(10, ge=1, le=100)
) -> dict[str, Any]:
    query = (
        select(DeviceMessage)
        .where(DeviceMessage.customer_id == customer_id)
        .order_by(DeviceMessage.id.desc())
        .limit(limit)
    )
    async with get_db(request).reading() as session:
        messages = (await session.execute(query)).scalars().all()
    return {
        "customer_id": customer_id,
        "messages": [
            {
                "device_id": m.device_id,
                "body": m.body,
                "code": m.code,
                "sent_at": m.sent_at.isoformat(),
            }
            for m in messages
        ],
    }


@router.get("/faults", summary="Active fault rules")
async def get_faults(request: Request) -> FaultSet:
    return FaultSet(rules=_injector(request).rules)


@router.put("/faults", summary="Replace the fault rules")
async def put_faults(faults: FaultSet, request: Request) -> FaultSet:
    _injector(request).replace(faults.rules)
    return faults


@router.delete("/faults", summary="Clear all fault rules")
async def clear_faults(request: Request) -> FaultSet:
    _injector(request).replace([])
    return FaultSet()


@router.post(
    "/events",
    status_code=201,
    summary="Make a back-end event happen to a customer: its state, the event and its outbox row",
)
async def make_event(body: EventRequest, request: Request) -> dict[str, Any]:
    maker: EventMaker = request.app.state.events
    async with get_db(request).writing() as session:
        event, _ = await maker.make(session, body.customer_id, body.kind)
    publisher: OutboxPublisher | None = request.app.state.outbox_publisher
    if publisher is not None:
        publisher.wake()
    return {**event_json(event), "customer_id": event.customer_id}
