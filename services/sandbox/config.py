"""Sandbox settings, read from environment variables once at start-up."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

DEV_SERVICE_SECRET = "dev-only-sandbox-secret"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.data/sandbox.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # The dev value is public on purpose: anything but a laptop must set SANDBOX_SERVICE_SECRET.
    service_secret: str = DEV_SERVICE_SECRET
    host: str = "127.0.0.1"
    port: int = 5100
    seed: int = 42
    customers: int = 1000
    seed_if_empty: bool = True
    faults: list[dict[str, Any]] = field(default_factory=list)
    verification_code_ttl_seconds: int = 300
    verification_token_ttl_seconds: int = 300
    verification_max_attempts: int = 3

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("SANDBOX_DATABASE_URL", DEFAULT_DATABASE_URL),
            service_secret=env.get("SANDBOX_SERVICE_SECRET", DEV_SERVICE_SECRET),
            port=int(env.get("SANDBOX_PORT", "5100")),
            seed=int(env.get("SANDBOX_SEED", "42")),
            customers=int(env.get("SANDBOX_CUSTOMERS", "1000")),
            faults=json.loads(env.get("SANDBOX_FAULTS", "[]")),
        )
