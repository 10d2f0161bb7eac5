"""How much a customer may send: message size, rate per sender and per client address, and
messages waiting for an answer per conversation (documented in channels/README.md).

Rates count in Redis when RATE_LIMIT_REDIS_URL is set, so replicas share them; the number of
waiting messages is per process, since each process answers its own requests.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sanic.request import Request

from common.rate_limit import rate_limiter

# A chat message, not a document; NLU time grows with length (a 1 MB message took 7 s).
MAX_MESSAGE_CHARS = 2000
# About one message a second, sustained for a minute: more than a person types or clicks.
SENDER_MESSAGES_PER_MINUTE = 60
# Many customers may share one address (an office, a carrier's NAT).
ADDRESS_MESSAGES_PER_MINUTE = 600
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


def _setting(environ: Mapping[str, str], name: str, default: int) -> int:
    value = (environ.get(name) or "").strip()
    return int(value) if value else default


class MessageLimits:
    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        redis_url = environ.get("RATE_LIMIT_REDIS_URL") or None
        self.per_sender = rate_limiter(
            "channel-sender",
            _setting(environ, "CHANNEL_SENDER_MESSAGES_PER_MINUTE", SENDER_MESSAGES_PER_MINUTE),
            RATE_WINDOW_SECONDS, redis_url)
        self.per_address = rate_limiter(
            "channel-address",
            _setting(environ, "CHANNEL_ADDRESS_MESSAGES_PER_MINUTE",
                     ADDRESS_MESSAGES_PER_MINUTE),
            RATE_WINDOW_SECONDS, redis_url)
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
