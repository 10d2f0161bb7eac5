"""A handoff connector for tests of the action code alone: it answers with a fixed outcome and
keeps what it was sent. The real desk is exercised end to end in tests/e2e and tests/desk."""

from __future__ import annotations

from actions.handoff_connector import HandoffOutcome, HandoffRequest, HandoffUnavailable


class RecordingDesk:
    def __init__(self, outcome: HandoffOutcome | None = None) -> None:
        self.outcome = outcome or HandoffOutcome(status="queued", position=2)
        self.requests: list[HandoffRequest] = []
        self.ratings: list[tuple[str, int]] = []

    async def open_handoff(self, request: HandoffRequest) -> HandoffOutcome:
        self.requests.append(request)
        return self.outcome

    async def record_rating(self, conversation_id: str, rating: int) -> None:
        self.ratings.append((conversation_id, rating))


class UnreachableDesk(RecordingDesk):
    async def open_handoff(self, request: HandoffRequest) -> HandoffOutcome:
        raise HandoffUnavailable("connection refused")
