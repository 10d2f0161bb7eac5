"""The analytics service's settings, read once at start (common/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.ingest import ANALYTICS_QUEUE
from common.settings import Environment, EnvironmentSettings, SettingError
from common.store_checks import amqp_url

DEFAULT_PORT = 5400
DEFAULT_DATABASE_URL = "sqlite:///.data/analytics.db"
BROKER_TYPES = ("sql", "pika")


@dataclass(frozen=True)
class AnalyticsSettings(EnvironmentSettings):
    # No default: the embedded profile's dev value lives in profiles/embedded.env only.
    service_secret: str
    # Rasa's event broker, as endpoints.yml configures it (EVENT_BROKER_*).
    broker_type: str
    broker_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str = DEFAULT_DATABASE_URL
    # The service's own queue, bound to the exchange Rasa's Pika broker publishes to.
    queue: str = ANALYTICS_QUEUE
    # Seconds between two reads of a broker that had nothing new.
    poll_seconds: float = 1.0
    batch_size: int = 500
    # Silence after which a session is over: a flow left unanswered is abandoned only then.
    session_idle_minutes: float = 30

    @classmethod
    def read(cls, env: Environment) -> AnalyticsSettings:
        broker_type = env.text("EVENT_BROKER_TYPE", "").lower()
        if broker_type not in BROKER_TYPES:
            raise SettingError(
                f"EVENT_BROKER_TYPE is {broker_type or 'unset'}: analytics reads sql or pika"
            )
        broker_url = env.required("EVENT_BROKER_URL")
        if broker_type == "pika":
            broker_url = amqp_url(
                broker_url,
                env.optional("EVENT_BROKER_USERNAME"),
                env.optional("EVENT_BROKER_PASSWORD"),
            )
        return cls(
            service_secret=env.secret("ANALYTICS_SERVICE_SECRET"),
            broker_type=broker_type,
            broker_url=broker_url,
            host=env.text("ANALYTICS_HOST", "127.0.0.1"),
            port=env.integer("ANALYTICS_PORT", DEFAULT_PORT),
            database_url=env.text("ANALYTICS_DATABASE_URL", DEFAULT_DATABASE_URL),
            queue=env.text("ANALYTICS_EVENT_QUEUE", ANALYTICS_QUEUE),
            poll_seconds=env.number("ANALYTICS_POLL_SECONDS", 1.0),
            batch_size=env.integer("ANALYTICS_BATCH_SIZE", 500),
            session_idle_minutes=env.number("ANALYTICS_SESSION_IDLE_MINUTES", 30),
        )
