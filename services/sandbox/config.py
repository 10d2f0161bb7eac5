"""Sandbox settings, read from environment variables once at start-up."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.secrets import is_embedded, required_secret

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.data/sandbox.db"


@dataclass(frozen=True)
class Settings:
    # No default: the dev value lives in profiles/embedded.env only (common/secrets.py).
    service_secret: str
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 5100
    seed: int = 42
    customers: int = 1000
    seed_if_empty: bool = True
    faults: list[dict[str, Any]] = field(default_factory=list)
    verification_code_ttl_seconds: int = 300
    verification_token_ttl_seconds: int = 300
    verification_max_attempts: int = 3
    # The simulated phone's inbox (/sandbox/devices/...) hands out one-time codes, so a started
    # sandbox serves it only in the embedded profile (from_env); tests and tools that build
    # Settings themselves read codes from it.
    device_inbox: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("SANDBOX_DATABASE_URL", DEFAULT_DATABASE_URL),
            service_secret=required_secret(env, "SANDBOX_SERVICE_SECRET"),
            port=int(env.get("SANDBOX_PORT", "5100")),
            seed=int(env.get("SANDBOX_SEED", "42")),
            customers=int(env.get("SANDBOX_CUSTOMERS", "1000")),
            faults=json.loads(env.get("SANDBOX_FAULTS", "[]")),
            device_inbox=is_embedded(env),
        )
