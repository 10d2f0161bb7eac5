"""The desk's settings, from the environment (profiles/*.env plus overrides), read once at
start-up (common/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from common.settings import Environment, EnvironmentSettings
from services.desk.hours import OpeningHours
from services.sign_in_guard import ADDRESS_LIMIT, NAME_LIMIT, WINDOW_SECONDS

DEFAULT_PORT = 5300
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.data/desk.db"
# Embedded profile only: the demo agents sign in with this password. A deployment creates its
# agents itself (or signs them in with its identity provider); it gets no demo agents.
DEFAULT_DEMO_PASSWORD = "demo"
DEFAULT_ANALYTICS_PORT = 5400


@dataclass(frozen=True)
class DeskSettings(EnvironmentSettings):
    # No defaults: the dev values live in profiles/embedded.env only (common/secrets.py).
    service_secret: str
    session_secret: str
    rasa_api_token: str
    # Loopback unless the deployment asks (a container listens on every interface).
    host: str = "127.0.0.1"
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
    # The analytics service behind the supervisors' page; without its secret the page says
    # that the figures are not configured.
    analytics_url: str = f"http://127.0.0.1:{DEFAULT_ANALYTICS_PORT}"
    analytics_service_secret: str | None = None
    # The first failure clusters load the sentence encoder in the analytics service.
    analytics_timeout_seconds: float = 60
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
    def read(cls, env: Environment) -> DeskSettings:
        return cls(
            host=env.text("DESK_HOST", "127.0.0.1"),
            port=env.integer("DESK_PORT", DEFAULT_PORT),
            database_url=env.text("DESK_DATABASE_URL", DEFAULT_DATABASE_URL),
            service_secret=env.secret("DESK_SERVICE_SECRET"),
            rasa_url=env.text("RASA_URL", f"http://127.0.0.1:{env.integer('RASA_PORT', 5005)}"),
            # The desk resumes conversations and reads trackers through Rasa's HTTP API.
            rasa_api_token=env.secret("RASA_API_TOKEN"),
            session_secret=env.secret("DESK_SESSION_SECRET"),
            demo_password=(
                env.text("DESK_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD) if env.embedded else None
            ),
            timezone=env.text("DESK_TIMEZONE", "Asia/Shanghai"),
            opening_hours=env.text("DESK_OPENING_HOURS", "00:00-24:00"),
            opening_days=env.text("DESK_OPENING_DAYS", "mon-sun"),
            agent_grace_seconds=env.number("DESK_AGENT_GRACE_SECONDS", 30),
            max_queue=env.integer("DESK_MAX_QUEUE", 20),
            callback_hours=env.number("DESK_CALLBACK_HOURS", 2),
            reconcile_seconds=env.number("DESK_RECONCILE_SECONDS", 5),
            outbox_max_backoff_seconds=env.number("DESK_OUTBOX_MAX_BACKOFF_SECONDS", 5),
            rasa_timeout_seconds=env.number("DESK_RASA_TIMEOUT_SECONDS", 5),
            analytics_url=env.text(
                "ANALYTICS_URL",
                f"http://127.0.0.1:{env.integer('ANALYTICS_PORT', DEFAULT_ANALYTICS_PORT)}",
            ),
            # Optional (a desk without the page still serves handoffs), but once set it obeys
            # the secret rule like every other.
            analytics_service_secret=(
                env.secret("ANALYTICS_SERVICE_SECRET")
                if env.optional("ANALYTICS_SERVICE_SECRET")
                else None
            ),
            analytics_timeout_seconds=env.number("DESK_ANALYTICS_TIMEOUT_SECONDS", 60),
            domain_dir=env.optional("DESK_DOMAIN_DIR"),
            allowed_origins=env.items("DESK_ALLOWED_ORIGINS"),
            rate_limit_redis_url=env.optional("RATE_LIMIT_REDIS_URL"),
        )
