"""The handoff connector for the project's own agent desk (services/desk)."""

from __future__ import annotations

import dataclasses

from actions.handoff_connector import HandoffOutcome, HandoffRequest, HandoffUnavailable
from clients.desk import DeskClient, DeskError
from common.assistant_settings import action_server_settings


class DeskConnector:
    def __init__(self, desk: DeskClient | None = None) -> None:
        if desk is None:
            link = action_server_settings().desk
            desk = DeskClient(link.url, link.secret, timeout_seconds=link.timeout_seconds)
        self.desk = desk

    async def open_handoff(self, request: HandoffRequest) -> HandoffOutcome:
        try:
            content = await self.desk.open_handoff(dataclasses.asdict(request))
        except DeskError as error:
            raise HandoffUnavailable(str(error)) from error
        return HandoffOutcome(
            status=content["status"],
            position=content.get("position"),
            ticket_reason=content.get("ticket_reason"),
            callback_due_at=content.get("callback_due_at"),
            opens_at=content.get("opens_at"),
        )

    async def record_rating(self, conversation_id: str, rating: int) -> None:
        try:
            await self.desk.record_rating(conversation_id, rating)
        except DeskError as error:
            raise HandoffUnavailable(str(error)) from error
