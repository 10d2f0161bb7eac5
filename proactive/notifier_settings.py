"""The notifier's settings (``python -m proactive.notifier``), read once at start
(common/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass

from common.assistant_settings import ServiceLink, backend_link
from common.settings import Environment, EnvironmentSettings, SettingError
from common.store_checks import amqp_url as with_credentials

DEFAULT_PORT = 5500
# The embedded profile's database: a file beside the others. Outside it there is no default,
# as a file on a pod's disk would forget what was sent at every restart.
EMBEDDED_DATABASE_URL = "sqlite:///.data/notifier.db"
# The back end's events: the sandbox publishes each to this durable fanout exchange; the
# notifier reads them through a durable queue of its own bound to it.
BACKEND_EVENTS_EXCHANGE = "fincs_backend_events"
NOTIFIER_QUEUE = "fincs_notifier"


def configured_database_url(env: Environment) -> str | None:
    """NOTIFIER_DATABASE_URL; the embedded profile's file when unset there, else None."""
    return env.optional("NOTIFIER_DATABASE_URL") or (
        EMBEDDED_DATABASE_URL if env.embedded else None
    )


@dataclass(frozen=True)
class NotifierSettings(EnvironmentSettings):
    # Rasa's HTTP API, where the notice is triggered in the customer's conversation.
    rasa_url: str
    rasa_api_token: str
    # Read on the customer's behalf: their consent, quiet hours and time zone.
    backend: ServiceLink
    database_url: str
    # The queue: a RabbitMQ queue of the notifier's own (production profile), else the back
    # end's outbox table read from its database (embedded profile). Exactly one is set.
    amqp_url: str | None
    events_database_url: str | None
    exchange: str = BACKEND_EVENTS_EXCHANGE
    queue: str = NOTIFIER_QUEUE
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # Notices a customer gets at most within rate_window_hours; beyond, none is sent.
    max_notices: int = 3
    rate_window_hours: float = 24
    # An event older than this when its notice could go out is not worth telling any more.
    max_age_hours: float = 24
    # Seconds between two looks at the queue and at the notices due, when nothing happened.
    poll_seconds: float = 1.0
    batch_size: int = 100
    # A failed send is tried again after retry_seconds, doubling up to retry_max_seconds.
    retry_seconds: float = 5.0
    retry_max_seconds: float = 600.0
    # A customer in the middle of a form or with a human agent gets the notice afterwards:
    # the notifier looks again after this long.
    busy_retry_seconds: float = 120.0

    @classmethod
    def read(cls, env: Environment) -> NotifierSettings:
        # The secrets first: without them nothing else matters.
        rasa_api_token = env.secret("RASA_API_TOKEN")
        backend = backend_link(env)
        amqp_url = env.optional("NOTIFIER_AMQP_URL")
        if amqp_url is not None:
            # The credentials apart, as a deployment's secret store keeps them.
            amqp_url = with_credentials(
                amqp_url,
                env.optional("NOTIFIER_AMQP_USERNAME"),
                env.optional("NOTIFIER_AMQP_PASSWORD"),
            )
        events_database_url = env.optional("NOTIFIER_EVENTS_DATABASE_URL")
        if amqp_url is None and events_database_url is None:
            if not env.embedded:
                raise SettingError(
                    "NOTIFIER_AMQP_URL is not set: the notifier reads the back end's events "
                    "from RabbitMQ (or from an outbox table: NOTIFIER_EVENTS_DATABASE_URL)"
                )
            # The embedded profile's back end is the sandbox: its outbox is in its database.
            events_database_url = env.required("SANDBOX_DATABASE_URL")
        if amqp_url is not None and events_database_url is not None:
            raise SettingError(
                "NOTIFIER_AMQP_URL and NOTIFIER_EVENTS_DATABASE_URL are both set: set one queue"
            )
        database_url = configured_database_url(env)
        if database_url is None:
            raise SettingError("NOTIFIER_DATABASE_URL is not set")
        return cls(
            rasa_url=env.text(
                "RASA_URL", f"http://127.0.0.1:{env.integer('RASA_PORT', 5005)}"
            ).rstrip("/"),
            rasa_api_token=rasa_api_token,
            backend=backend,
            database_url=database_url,
            amqp_url=amqp_url,
            events_database_url=events_database_url,
            exchange=env.text("NOTIFIER_EXCHANGE", BACKEND_EVENTS_EXCHANGE),
            queue=env.text("NOTIFIER_QUEUE", NOTIFIER_QUEUE),
            host=env.text("NOTIFIER_HOST", "127.0.0.1"),
            port=env.integer("NOTIFIER_PORT", DEFAULT_PORT),
            max_notices=env.integer("NOTIFIER_MAX_NOTICES", 3),
            rate_window_hours=env.number("NOTIFIER_RATE_WINDOW_HOURS", 24),
            max_age_hours=env.number("NOTIFIER_MAX_AGE_HOURS", 24),
            poll_seconds=env.number("NOTIFIER_POLL_SECONDS", 1.0),
            batch_size=env.integer("NOTIFIER_BATCH_SIZE", 100),
            retry_seconds=env.number("NOTIFIER_RETRY_SECONDS", 5.0),
            retry_max_seconds=env.number("NOTIFIER_RETRY_MAX_SECONDS", 600.0),
            busy_retry_seconds=env.number("NOTIFIER_BUSY_RETRY_SECONDS", 120.0),
        )
