"""Sandbox settings, read from environment variables once at start-up (common/settings.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from common.settings import Environment, EnvironmentSettings, SettingError
from common.store_checks import masked_url

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
    # The production profile's queue of back-end events: the RabbitMQ the outbox is published
    # to (services/sandbox/outbox.py), credentials in the URL. Unset (embedded profile): the
    # outbox table is the queue and nothing is published.
    events_amqp_url: str | None = None

    @classmethod
    def read(cls, env: Environment) -> Settings:
        faults = env.text("SANDBOX_FAULTS", "[]")
        try:
            fault_rules = json.loads(faults)
        except ValueError:
            raise SettingError(f"SANDBOX_FAULTS must be a JSON list, not {faults!r}") from None
        events_amqp_url = env.optional("SANDBOX_EVENTS_AMQP_URL")
        if events_amqp_url and urlsplit(events_amqp_url).scheme not in ("amqp", "amqps"):
            raise SettingError(
                "SANDBOX_EVENTS_AMQP_URL must be an amqp:// or amqps:// URL, "
                f"not {masked_url(events_amqp_url)!r}"
            )
        return cls(
            database_url=env.text("SANDBOX_DATABASE_URL", DEFAULT_DATABASE_URL),
            service_secret=env.secret("SANDBOX_SERVICE_SECRET"),
            host=env.text("SANDBOX_HOST", "127.0.0.1"),
            port=env.integer("SANDBOX_PORT", 5100),
            seed=env.integer("SANDBOX_SEED", 42),
            customers=env.integer("SANDBOX_CUSTOMERS", 1000),
            faults=fault_rules,
            device_inbox=env.embedded,
            events_amqp_url=events_amqp_url,
        )
