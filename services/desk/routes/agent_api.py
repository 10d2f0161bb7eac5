"""The agents' JSON API, used by the console (session cookie required)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from services.desk import agent_views, agent_work
from services.desk.auth import CurrentAgent, desk_of
from services.desk.schemas import MAX_AGENT_MESSAGE_CHARS, AgentMessageIn

router = APIRouter(prefix="/api/agent", tags=["agents"])


@router.get("/queue", summary="Waiting conversations, mine, and callbacks")
async def queue(request: Request, agent: CurrentAgent) -> dict[str, Any]:
    return await agent_views.overview(desk_of(request), agent)


@router.get("/handoffs/{handoff_id}", summary="One handoff in full")
async def handoff(request: Request, agent: CurrentAgent, handoff_id: str) -> dict[str, Any]:
    return await agent_views.detail(desk_of(request), agent, handoff_id)


@router.post("/handoffs/{handoff_id}/claim", summary="Take a waiting conversation")
async def claim(request: Request, agent: CurrentAgent, handoff_id: str) -> dict[str, Any]:
    await agent_work.claim(desk_of(request), agent, handoff_id)
    return {"handoff_id": handoff_id, "status": "assigned", "agent_name": agent.display_name}


@router.post("/handoffs/{handoff_id}/messages", summary="Write to the customer")
async def message(
    request: Request, agent: CurrentAgent, handoff_id: str, body: AgentMessageIn
) -> dict[str, Any]:
    return await agent_work.send_message(desk_of(request), agent, handoff_id, body.text)


@router.post(
    "/handoffs/{handoff_id}/resolve",
    summary="Hand the conversation back to the assistant, or close a callback",
)
async def resolve(request: Request, agent: CurrentAgent, handoff_id: str) -> dict[str, Any]:
    await agent_work.resolve(desk_of(request), agent, handoff_id)
    return {"handoff_id": handoff_id, "status": "resolved"}


@router.get("/handoffs/{handoff_id}/assist", summary="Suggested replies and customer facts")
async def assist(
    request: Request,
    agent: CurrentAgent,
    handoff_id: str,
    draft: str = Query("", max_length=MAX_AGENT_MESSAGE_CHARS),
) -> dict[str, Any]:
    return await agent_views.assist(desk_of(request), agent, handoff_id, draft)
