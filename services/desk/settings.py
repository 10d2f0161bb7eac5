"""The desk's settings, from the environment (profiles/*.env plus overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from services.desk.hours import OpeningHours

DEFAULT_PORT = 5300
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.data/desk.db"
# The dev values are public on purpose: anything but a laptop must set its own.
DEV_SERVICE_SECRET = "dev-only-desk-service-secret"
DEV_SESSION_SECRET = "dev-only-desk-session-secret"
# Sandbox-only: the demo agents sign in with this password.
DEFAULT_DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DeskSettings:
    port: int = DEFAULT_PORT
    database_url: str = DEFAULT_DATABASE_URL
    service_secret: str = DEV_SERVICE_SECRET
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_api_token: str = ""
    session_secret: str = DEV_SESSION_SECRET
    demo_password: str = DEFAULT_DEMO_PASSWORD
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
            service_secret=value("DESK_SERVICE_SECRET", DEV_SERVICE_SECRET),
            rasa_url=value("RASA_URL", f"http://127.0.0.1:{value('RASA_PORT', '5005')}"),
            rasa_api_token=environ.get("RASA_API_TOKEN", ""),
            session_secret=value("DESK_SESSION_SECRET", DEV_SESSION_SECRET),
            demo_password=value("DESK_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD),
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
        )
