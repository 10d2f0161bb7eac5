"""Who may open a chat session, and for how long: the Origin allow-list, revoked sign-in
tokens and the cap on open sockets per customer (see channels/README.md)."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping

from common.secrets import is_embedded

ALLOWED_ORIGINS_VARIABLE = "CHANNEL_ALLOWED_ORIGINS"
# The web chat page as scripts/run serves it; only the embedded profile may rely on this.
EMBEDDED_ALLOWED_ORIGINS = ("http://127.0.0.1:5200", "http://localhost:5200")
MAX_SOCKETS_PER_CUSTOMER = 5
REVOCATION_KEY_PREFIX = "fincs:revoked-token:"


def allowed_origins(environ: Mapping[str, str]) -> list[str]:
    """The browser origins that may talk to the channels: CHANNEL_ALLOWED_ORIGINS
    (comma-separated); the web chat page's own origin in the embedded profile; else none."""
    configured = [origin.strip().rstrip("/")
                  for origin in (environ.get(ALLOWED_ORIGINS_VARIABLE) or "").split(",")
                  if origin.strip()]
    if configured:
        return configured
    return list(EMBEDDED_ALLOWED_ORIGINS) if is_embedded(environ) else []


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
