"""Fixed-window rate limits, counted in this process or, for several replicas, in Redis.

One mechanism for every door a customer or an agent can knock on: chat messages per customer
and per client address, and sign-in attempts. With ``redis_url`` every replica counts in the
same Redis keys, so a client cannot multiply its allowance by spreading over servers.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    # How long the caller should wait before the next attempt counts again; 0 when allowed.
    retry_after_seconds: float


class RateLimiter(Protocol):
    async def hit(self, key: str) -> RateDecision:
        """Counts one event for ``key`` and says whether it is within the limit."""

    async def reset(self, key: str) -> None:
        """Forgets ``key``'s events (a successful sign-in clears its failures)."""


@dataclass
class MemoryRateLimiter:
    name: str
    limit: int
    window_seconds: float
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def hit(self, key: str) -> RateDecision:
        now = time.monotonic()
        async with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= self.window_seconds:
                started, count = now, 0
            count += 1
            self._windows[key] = (started, count)
            if len(self._windows) > 100_000:
                self._forget_expired(now)
        if count <= self.limit:
            return RateDecision(True, 0.0)
        return RateDecision(False, max(0.0, started + self.window_seconds - now))

    async def reset(self, key: str) -> None:
        async with self._lock:
            self._windows.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        # Bounded memory whatever the number of distinct clients.
        for key, (started, _) in list(self._windows.items()):
            if now - started >= self.window_seconds:
                del self._windows[key]


class RedisRateLimiter:
    def __init__(self, name: str, limit: int, window_seconds: float, redis_url: str) -> None:
        from redis import asyncio as redis_asyncio

        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds
        self._redis = redis_asyncio.from_url(redis_url)

    def _key(self, key: str) -> str:
        return f"fincs:rate:{self.name}:{key}"

    async def hit(self, key: str) -> RateDecision:
        redis_key = self._key(key)
        window_ms = max(1, math.ceil(self.window_seconds * 1000))
        async with self._redis.pipeline(transaction=True) as pipeline:
            pipeline.incr(redis_key)
            # NX: the window starts with its first event and is not extended by later ones.
            pipeline.pexpire(redis_key, window_ms, nx=True)
            pipeline.pttl(redis_key)
            count, _, ttl_ms = await pipeline.execute()
        if int(count) <= self.limit:
            return RateDecision(True, 0.0)
        return RateDecision(False, max(0.0, int(ttl_ms) / 1000))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._key(key))


def rate_limiter(
    name: str, limit: int, window_seconds: float, redis_url: str | None = None
) -> RateLimiter:
    """At most ``limit`` events per key in each window of ``window_seconds``."""
    if limit < 1 or window_seconds <= 0:
        raise ValueError(f"rate limit {name}: limit and window must be positive")
    if redis_url:
        return RedisRateLimiter(name, limit, window_seconds, redis_url)
    return MemoryRateLimiter(name, limit, window_seconds)
