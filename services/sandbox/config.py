"""Sandbox settings, read from environment variables once at start-up (common/settings.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from common.settings import Environment, EnvironmentSettings, SettingError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.data/sandbox.db"


@dataclass(frozen=True)
class Settings(EnvironmentSettings):
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
    # sandbox serves it only in the embedded profile (read); tests and tools that build
    # Settings themselves read codes from it.
    device_inbox: bool = True

    @classmethod
    def read(cls, env: Environment) -> Settings:
        faults = env.text("SANDBOX_FAULTS", "[]")
        try:
            fault_rules = json.loads(faults)
        except ValueError:
            raise SettingError(f"SANDBOX_FAULTS must be a JSON list, not {faults!r}") from None
        return cls(
            database_url=env.text("SANDBOX_DATABASE_URL", DEFAULT_DATABASE_URL),
            service_secret=env.secret("SANDBOX_SERVICE_SECRET"),
            host=env.text("SANDBOX_HOST", "127.0.0.1"),
            port=env.integer("SANDBOX_PORT", 5100),
            seed=env.integer("SANDBOX_SEED", 42),
            customers=env.integer("SANDBOX_CUSTOMERS", 1000),
            faults=fault_rules,
            device_inbox=env.embedded,
        )
