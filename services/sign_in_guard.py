"""Sign-in throttling shared by the web chat and the agent desk (common/rate_limit.py counts).

Every attempt counts against the name being signed in as and against the client's address; a
successful sign-in clears the name's count. Past either limit the answer is 429 with
Retry-After, even for the right password, until the window ends: guessing gets a handful of
tries per window, and one client cannot spray many names either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.rate_limit import RateLimiter, rate_limiter

# Five wrong passwords in fifteen minutes lock the name; an address gets more because an office
# or a mobile carrier puts many people behind one.
NAME_LIMIT = 5
ADDRESS_LIMIT = 50
WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class SignInGuard:
    by_name: RateLimiter
    by_address: RateLimiter

    @classmethod
    def create(
        cls,
        service: str,
        redis_url: str | None,
        name_limit: int = NAME_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window_seconds: float = WINDOW_SECONDS,
    ) -> SignInGuard:
        return cls(
            rate_limiter(f"{service}-sign-in-name", name_limit, window_seconds, redis_url),
            rate_limiter(f"{service}-sign-in-address", address_limit, window_seconds, redis_url),
        )

    async def attempt(self, name: str, address: str) -> float | None:
        """Counts one attempt; the seconds to wait when over a limit, None when it may go on."""
        decisions = (
            await self.by_name.hit(name.strip().lower()),
            await self.by_address.hit(address),
        )
        waits = [decision.retry_after_seconds for decision in decisions if not decision.allowed]
        return max(waits) if waits else None

    async def succeeded(self, name: str) -> None:
        await self.by_name.reset(name.strip().lower())


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def wait_wording(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
