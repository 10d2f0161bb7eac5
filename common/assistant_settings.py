"""The assistant's side: the settings of the action server and of the Rasa server's channels.

Each of the two processes reads its object once (``action_server_settings()``,
``channel_settings()``) and hands the values on; nothing in actions/ or channels/ reads the
environment itself. Each object holds only the secrets its own process needs, so a Rasa server
never holds the back end's secret.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from common.settings import Environment, EnvironmentSettings, SettingError

DEFAULT_BACKEND_URL = "http://127.0.0.1:5100"
DEFAULT_BACKEND_TIMEOUT_SECONDS = 3.0
# How long the customer's profile and what they hold, once read, serve their session: what
# changes elsewhere (a card frozen in the banking app) shows after at most this.
DEFAULT_SESSION_READ_SECONDS = 300.0
# Customers whose reads one action server keeps at once, least recently served dropped first:
# a few kilobytes each (kept as JSON text), so some tens of megabytes at most.
DEFAULT_CACHED_CUSTOMERS = 5000
DEFAULT_DESK_URL = "http://127.0.0.1:5300"
DEFAULT_DESK_TIMEOUT_SECONDS = 5.0
DEFAULT_ANALYTICS_URL = "http://127.0.0.1:5400"
# The customer's past questions are read while the chat's greeting waits: a slow analytics
# service gets the offers made without them, never a late greeting.
DEFAULT_OFFERS_ANALYTICS_TIMEOUT_SECONDS = 1.0
# The channels' messages to the desk are best effort (the desk catches up from the tracker):
# they must never hold a customer's message up for long.
DESK_FORWARD_TIMEOUT_SECONDS = 2.0
# The project's own agent desk (services/desk); HANDOFF_CONNECTOR may name another
# (actions/HANDOFF.md).
DEFAULT_HANDOFF_CONNECTOR = "actions.desk_connector:DeskConnector"
# About one message a second, sustained for a minute: more than a person types or clicks.
SENDER_MESSAGES_PER_MINUTE = 60
# Many customers may share one address (an office, a carrier's NAT).
ADDRESS_MESSAGES_PER_MINUTE = 600
# Messages one Rasa server works on at once, the others waiting in order (channels/admission.py).
MESSAGES_AT_ONCE = 8
# The web chat page as scripts/run serves it; only the embedded profile may rely on this.
EMBEDDED_ALLOWED_ORIGINS = ("http://127.0.0.1:5200", "http://localhost:5200")


@dataclass(frozen=True)
class ServiceLink:
    """Where another service answers and the secret it expects."""

    url: str
    secret: str
    timeout_seconds: float


def backend_link(env: Environment) -> ServiceLink:
    return ServiceLink(
        url=env.text("BACKEND_URL", DEFAULT_BACKEND_URL),
        # A real back end has its own secret; the sandbox, standing in, shares its own.
        secret=env.secret("BACKEND_SERVICE_SECRET", also="SANDBOX_SERVICE_SECRET"),
        timeout_seconds=env.number("BACKEND_TIMEOUT_SECONDS", DEFAULT_BACKEND_TIMEOUT_SECONDS),
    )


def desk_link(env: Environment, timeout_seconds: float) -> ServiceLink:
    return ServiceLink(
        url=env.text("DESK_URL", DEFAULT_DESK_URL),
        secret=env.secret("DESK_SERVICE_SECRET"),
        timeout_seconds=timeout_seconds,
    )


def analytics_link(env: Environment) -> ServiceLink | None:
    """The analytics service, where the customers' past questions are read; None without its
    secret (the offers are then made from the profile and the back end's events alone). Once
    set, the secret obeys the secret rule like every other."""
    if not env.optional("ANALYTICS_SERVICE_SECRET"):
        return None
    return ServiceLink(
        url=env.text("ANALYTICS_URL", DEFAULT_ANALYTICS_URL),
        secret=env.secret("ANALYTICS_SERVICE_SECRET"),
        timeout_seconds=env.number(
            "OFFERS_ANALYTICS_TIMEOUT_SECONDS", DEFAULT_OFFERS_ANALYTICS_TIMEOUT_SECONDS
        ),
    )


def channel_origins(env: Environment) -> tuple[str, ...]:
    """The browser origins that may talk to the channels: CHANNEL_ALLOWED_ORIGINS
    (comma-separated); the web chat page's own origin in the embedded profile; else none."""
    configured = env.items("CHANNEL_ALLOWED_ORIGINS")
    if configured:
        return configured
    return EMBEDDED_ALLOWED_ORIGINS if env.embedded else ()


@dataclass(frozen=True)
class ActionServerSettings(EnvironmentSettings):
    host: str
    port: int
    # Only the Rasa server has it (endpoints.yml sends it): every other caller is refused.
    token: str
    workers: int
    backend: ServiceLink
    desk: ServiceLink
    # Opens the one-time codes the channels sealed (common/one_time_code.py).
    redaction_secret: str
    # ``package.module:ClassName`` of the handoff connector.
    handoff_connector: str
    session_read_seconds: float = DEFAULT_SESSION_READ_SECONDS
    cached_customers: int = DEFAULT_CACHED_CUSTOMERS
    # The customers' past questions, for the offers made when a chat opens (None: not read).
    analytics: ServiceLink | None = None

    @classmethod
    def read(cls, env: Environment) -> ActionServerSettings:
        return cls(
            # rasa-sdk binds every interface by default; this server answers loopback unless told.
            host=env.text("ACTION_SERVER_HOST", "127.0.0.1"),
            port=env.integer("ACTION_SERVER_PORT", 5055),
            token=env.secret("ACTION_SERVER_TOKEN"),
            workers=env.integer("ACTION_SERVER_SANIC_WORKERS", 1),
            backend=backend_link(env),
            desk=desk_link(env, env.number("DESK_TIMEOUT_SECONDS", DEFAULT_DESK_TIMEOUT_SECONDS)),
            redaction_secret=env.secret("REDACTION_SECRET"),
            handoff_connector=env.text("HANDOFF_CONNECTOR", DEFAULT_HANDOFF_CONNECTOR),
            session_read_seconds=env.number(
                "BACKEND_SESSION_READ_SECONDS", DEFAULT_SESSION_READ_SECONDS
            ),
            cached_customers=env.integer("BACKEND_CACHED_CUSTOMERS", DEFAULT_CACHED_CUSTOMERS),
            analytics=analytics_link(env),
        )


@dataclass(frozen=True)
class ChannelSettings(EnvironmentSettings):
    # Verifies customers' sign-in tokens (common/customer_binding.py).
    signing_secret: bytes
    # Seals the one-time codes customers type, so no store keeps them readable.
    redaction_secret: str
    desk: ServiceLink
    # Rate limits and revoked sign-ins are shared by every replica through it; None: in memory.
    rate_limit_redis_url: str | None
    allowed_origins: tuple[str, ...]
    sender_messages_per_minute: int
    address_messages_per_minute: int
    messages_at_once: int
    # The Rasa server's own secrets (its HTTP API, the action server's token), which Rasa reads
    # from its command line and endpoints.yml: read here so that a missing or dev-only one
    # stops every deployment's Rasa server when it builds its channels.
    rasa_api_token: str
    action_server_token: str

    @classmethod
    def read(cls, env: Environment) -> ChannelSettings:
        messages_at_once = env.integer("CHANNEL_MESSAGES_AT_ONCE", MESSAGES_AT_ONCE)
        if messages_at_once < 1:
            raise SettingError(
                f"CHANNEL_MESSAGES_AT_ONCE must be at least 1, not {messages_at_once}"
            )
        return cls(
            signing_secret=env.secret("CHANNEL_SIGNING_SECRET").encode(),
            redaction_secret=env.secret("REDACTION_SECRET"),
            desk=desk_link(env, DESK_FORWARD_TIMEOUT_SECONDS),
            rate_limit_redis_url=env.optional("RATE_LIMIT_REDIS_URL"),
            allowed_origins=channel_origins(env),
            sender_messages_per_minute=env.integer(
                "CHANNEL_SENDER_MESSAGES_PER_MINUTE", SENDER_MESSAGES_PER_MINUTE
            ),
            address_messages_per_minute=env.integer(
                "CHANNEL_ADDRESS_MESSAGES_PER_MINUTE", ADDRESS_MESSAGES_PER_MINUTE
            ),
            messages_at_once=messages_at_once,
            rasa_api_token=env.secret("RASA_API_TOKEN"),
            action_server_token=env.secret("ACTION_SERVER_TOKEN"),
        )


@functools.cache
def action_server_settings() -> ActionServerSettings:
    """The action server's settings, read from its environment the first time they are asked."""
    return ActionServerSettings.from_environment()


@functools.cache
def channel_settings() -> ChannelSettings:
    """The Rasa server's channel settings, read from its environment the first time asked."""
    return ChannelSettings.from_environment()
