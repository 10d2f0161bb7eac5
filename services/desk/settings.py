"""The desk's settings, from the environment (profiles/*.env plus overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from common.secrets import is_embedded, required_secret
from services.desk.hours import OpeningHours
from services.sign_in_guard import ADDRESS_LIMIT, NAME_LIMIT, WINDOW_SECONDS
from services.web_security import parse_origins

DEFAULT_PORT = 5300
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.data/desk.db"
# Embedded profile only: the demo agents sign in with this password. A deployment creates its
# agents itself (or signs them in with its identity provider); it gets no demo agents.
DEFAULT_DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DeskSettings:
    # No defaults: the dev values live in profiles/embedded.env only (common/secrets.py).
    service_secret: str
    session_secret: str
    rasa_api_token: str
    port: int = DEFAULT_PORT
    database_url: str = DEFAULT_DATABASE_URL
    rasa_url: str = "http://127.0.0.1:5005"
    # None: no demo agents are made.
    demo_password: str | None = None
    timezone: str = "Asia/Shanghai"
    opening_hours: str = "00:00-24:00"
    opening_days: str = "mon-sun"
    agent_grace_seconds: float = 30
    max_queue: int = 20
    callback_hours: float = 2
    reconcile_seconds: float = 5
    # Longest wait between two tries of an undelivered outbox item.
    outbox_max_backoff_seconds: float = 5
    rasa_timeout_seconds: float = 5
    # A folder of Rasa domain files for agent assist; None: the project's domain.
    domain_dir: str | None = None
    # Origins whose pages may make state-changing calls; empty: only the console's own.
    allowed_origins: tuple[str, ...] = ()
    # Sign-in attempts are counted here when set, so every replica sees the same counts.
    rate_limit_redis_url: str | None = None
    sign_in_name_limit: int = NAME_LIMIT
    sign_in_address_limit: int = ADDRESS_LIMIT
    sign_in_window_seconds: float = WINDOW_SECONDS

    def __post_init__(self) -> None:
        # Fail at start-up, not at the first handoff, when hours or zone are mistyped.
        self.hours()

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def hours(self) -> OpeningHours:
        return OpeningHours.parse(self.opening_hours, self.opening_days, self.zone)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> DeskSettings:
        def value(name: str, default: str) -> str:
            return environ.get(name) or default

        return cls(
            port=int(value("DESK_PORT", str(DEFAULT_PORT))),
            database_url=value("DESK_DATABASE_URL", DEFAULT_DATABASE_URL),
            service_secret=required_secret(environ, "DESK_SERVICE_SECRET"),
            rasa_url=value("RASA_URL", f"http://127.0.0.1:{value('RASA_PORT', '5005')}"),
            # The desk resumes conversations and reads trackers through Rasa's HTTP API.
            rasa_api_token=required_secret(environ, "RASA_API_TOKEN"),
            session_secret=required_secret(environ, "DESK_SESSION_SECRET"),
            demo_password=(value("DESK_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
                           if is_embedded(environ) else None),
            timezone=value("DESK_TIMEZONE", "Asia/Shanghai"),
            opening_hours=value("DESK_OPENING_HOURS", "00:00-24:00"),
            opening_days=value("DESK_OPENING_DAYS", "mon-sun"),
            agent_grace_seconds=float(value("DESK_AGENT_GRACE_SECONDS", "30")),
            max_queue=int(value("DESK_MAX_QUEUE", "20")),
            callback_hours=float(value("DESK_CALLBACK_HOURS", "2")),
            reconcile_seconds=float(value("DESK_RECONCILE_SECONDS", "5")),
            outbox_max_backoff_seconds=float(value("DESK_OUTBOX_MAX_BACKOFF_SECONDS", "5")),
            rasa_timeout_seconds=float(value("DESK_RASA_TIMEOUT_SECONDS", "5")),
            domain_dir=environ.get("DESK_DOMAIN_DIR") or None,
            allowed_origins=parse_origins(environ.get("DESK_ALLOWED_ORIGINS", "")),
            rate_limit_redis_url=environ.get("RATE_LIMIT_REDIS_URL") or None,
        )
