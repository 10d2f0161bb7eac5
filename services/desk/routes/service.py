"""The API of the action server and the Rasa server (service secret required)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from common.api_errors import ApiError
from common.logging_setup import set_conversation_id
from services.desk import intake
from services.desk.auth import ServiceCaller, desk_of
from services.desk.schemas import CustomerMessageIn, HandoffIn, PresenceIn, RatingIn

router = APIRouter(prefix="/api", tags=["service"], dependencies=[ServiceCaller])


def accepted() -> JSONResponse:
    return JSONResponse({"status": "accepted"}, status_code=202)


def no_open_handoff() -> ApiError:
    return ApiError(404, "no_open_handoff", "this conversation is not with the desk")


@router.post("/handoffs", summary="Hand a conversation to people (idempotent per conversation)")
async def open_handoff(request: Request, body: HandoffIn) -> dict[str, Any]:
    # The other service routes name the conversation in their path (common.request_log).
    set_conversation_id(body.conversation_id)
    return await intake.open_handoff(desk_of(request), body)


@router.get("/conversations/{conversation_id:path}/handoff", summary="The open handoff")
async def open_handoff_status(request: Request, conversation_id: str) -> dict[str, Any]:
    status = await intake.open_handoff_status(desk_of(request), conversation_id)
    if status is None:
        raise no_open_handoff()
    return status


@router.get(
    "/sent-messages/{message_id}",
    summary="A message the desk sent to a customer (the relay checks each one against it)",
)
async def sent_message(request: Request, message_id: str) -> dict[str, Any]:
    sent = await intake.sent_message(desk_of(request), message_id)
    if sent is None:
        raise ApiError(404, "not_sent_by_the_desk", "the desk sent no message with this id")
    return sent


@router.post(
    "/conversations/{conversation_id:path}/customer-messages",
    status_code=202,
    summary="A customer's message while people have the conversation",
)
async def customer_message(
    request: Request, conversation_id: str, body: CustomerMessageIn
) -> JSONResponse:
    if not await intake.customer_message(
        desk_of(request), conversation_id, body.message_id, body.text, body.timestamp
    ):
        raise no_open_handoff()
    return accepted()


@router.post(
    "/conversations/{conversation_id:path}/presence",
    status_code=202,
    summary="The customer left the chat or came back",
)
async def presence(request: Request, conversation_id: str, body: PresenceIn) -> JSONResponse:
    if not await intake.presence(desk_of(request), conversation_id, body.present):
        raise no_open_handoff()
    return accepted()


@router.post(
    "/conversations/{conversation_id:path}/rating",
    summary="The customer's rating (1-5) of their latest resolved handoff",
)
async def rating(request: Request, conversation_id: str, body: RatingIn) -> dict[str, Any]:
    handoff_id = await intake.rate(desk_of(request), conversation_id, body.rating)
    if handoff_id is None:
        raise ApiError(404, "no_resolved_handoff", "no resolved handoff to rate")
    return {"handoff_id": handoff_id, "rating": body.rating}
