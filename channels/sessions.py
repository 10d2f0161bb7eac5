"""How long a chat session lives: revoked sign-in tokens and the cap on open sockets per
customer (see channels/README.md; the Origin allow-list is a setting,
common/assistant_settings.py)."""

from __future__ import annotations

import functools
import time

MAX_SOCKETS_PER_CUSTOMER = 5
REVOCATION_KEY_PREFIX = "fincs:revoked-token:"


class RevokedTokens:
    """Sign-in tokens revoked at sign-out, kept until they would have expired anyway; in
    Redis (shared by every replica) when ``redis_url`` is set, else in this process."""

    def __init__(self, redis_url: str | None) -> None:
        self._memory: dict[str, float] = {}
        self._redis = None
        if redis_url:
            from redis import asyncio as redis_asyncio

            self._redis = redis_asyncio.from_url(redis_url)

    async def revoke(self, token_id: str, expires_at: float) -> None:
        seconds_left = max(1, int(expires_at - time.time()) + 1)
        if self._redis is not None:
            await self._redis.set(REVOCATION_KEY_PREFIX + token_id, 1, ex=seconds_left)
            return
        now = time.time()
        self._memory = {key: until for key, until in self._memory.items() if until > now}
        self._memory[token_id] = now + seconds_left

    async def is_revoked(self, token_id: str) -> bool:
        if self._redis is not None:
            return bool(await self._redis.exists(REVOCATION_KEY_PREFIX + token_id))
        return self._memory.get(token_id, 0) > time.time()


@functools.cache
def revoked_tokens(redis_url: str | None) -> RevokedTokens:
    """One store per process, so a sign-out over REST is seen by the socket.io channel."""
    return RevokedTokens(redis_url)
