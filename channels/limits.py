"""How much a customer may send: message size, rate per sender and per client address, and
messages waiting for an answer per conversation (documented in channels/README.md).

Rates count in Redis when RATE_LIMIT_REDIS_URL is set, so replicas share them; the number of
waiting messages is per process, since each process answers its own requests. The rates are
settings (common/assistant_settings.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sanic.request import Request

from common.assistant_settings import ChannelSettings
from common.rate_limit import rate_limiter

# A chat message, not a document; NLU time grows with length (a 1 MB message took 7 s).
MAX_MESSAGE_CHARS = 2000
# Rasa answers a conversation's messages one at a time; more than this waiting in one
# conversation only holds the server's workers up.
MAX_WAITING_PER_CONVERSATION = 3
RATE_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Refusal:
    reason: str
    retry_after_seconds: float


def client_address(request: Request) -> str | None:
    # remote_addr is the client behind a configured proxy (Sanic's PROXIES_COUNT etc.).
    return request.remote_addr or request.ip or None


class MessageLimits:
    def __init__(self, settings: ChannelSettings) -> None:
        self.per_sender = rate_limiter(
            "channel-sender",
            settings.sender_messages_per_minute,
            RATE_WINDOW_SECONDS,
            settings.rate_limit_redis_url,
        )
        self.per_address = rate_limiter(
            "channel-address",
            settings.address_messages_per_minute,
            RATE_WINDOW_SECONDS,
            settings.rate_limit_redis_url,
        )
        self._waiting: Counter[str] = Counter()

    async def over_rate(self, sender_id: str, address: str | None) -> Refusal | None:
        decisions = [await self.per_sender.hit(sender_id)]
        if address:
            decisions.append(await self.per_address.hit(address))
        refused = [decision for decision in decisions if not decision.allowed]
        if not refused:
            return None
        return Refusal("rate_limited", max(d.retry_after_seconds for d in refused))

    @asynccontextmanager
    async def waiting_turn(self, sender_id: str) -> AsyncIterator[Refusal | None]:
        """Holds one of the conversation's places while its message is answered; yields a
        refusal instead when every place is taken."""
        if self._waiting[sender_id] >= MAX_WAITING_PER_CONVERSATION:
            yield Refusal("busy", 1.0)
            return
        self._waiting[sender_id] += 1
        try:
            yield None
        finally:
            self._waiting[sender_id] -= 1
            if not self._waiting[sender_id]:
                del self._waiting[sender_id]
