"""The web chat server's settings, from the environment (profiles/*.env plus overrides), read
once at start-up (common/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.settings import Environment, EnvironmentSettings
from services.sign_in_guard import ADDRESS_LIMIT, NAME_LIMIT, WINDOW_SECONDS

WEBCHAT_DIR = Path(__file__).resolve().parent
# The widget's self-contained browser build (React included), installed by setup.sh.
WIDGET_BUNDLE = WEBCHAT_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
DEFAULT_PORT = 5200
# Embedded profile only: every synthetic customer signs in with this passcode. A deployment
# signs customers in with the company's identity provider instead, so outside that profile the
# demo sign-in is refused.
DEFAULT_DEMO_PASSCODE = "demo"


@dataclass(frozen=True)
class WebChatSettings(EnvironmentSettings):
    port: int
    rasa_url: str
    backend_url: str
    backend_secret: str
    backend_timeout_seconds: float
    # None: no demo sign-in (and no sandbox phone strip); only the embedded profile has them.
    demo_passcode: str | None
    signing_secret: bytes
    # Origins whose pages may sign in or out; empty: only this server's own pages.
    allowed_origins: tuple[str, ...] = ()
    # Loopback unless the deployment asks (a container listens on every interface).
    host: str = "127.0.0.1"
    rate_limit_redis_url: str | None = None
    sign_in_name_limit: int = NAME_LIMIT
    sign_in_address_limit: int = ADDRESS_LIMIT
    sign_in_window_seconds: float = WINDOW_SECONDS

    @classmethod
    def read(cls, env: Environment) -> WebChatSettings:
        return cls(
            host=env.text("WEBCHAT_HOST", "127.0.0.1"),
            port=env.integer("WEBCHAT_PORT", DEFAULT_PORT),
            # The browser connects here, so it is the address as the customer's browser sees it.
            rasa_url=env.text("RASA_URL", f"http://127.0.0.1:{env.integer('RASA_PORT', 5005)}"),
            backend_url=env.required("BACKEND_URL"),
            backend_secret=env.secret("SANDBOX_SERVICE_SECRET"),
            backend_timeout_seconds=env.number("BACKEND_TIMEOUT_SECONDS", 3),
            demo_passcode=(
                env.text("WEBCHAT_DEMO_PASSCODE", DEFAULT_DEMO_PASSCODE) if env.embedded else None
            ),
            # The same secret the Rasa server's channels verify sign-in tokens with.
            signing_secret=env.secret("CHANNEL_SIGNING_SECRET").encode(),
            allowed_origins=env.items("WEBCHAT_ALLOWED_ORIGINS"),
            rate_limit_redis_url=env.optional("RATE_LIMIT_REDIS_URL"),
        )
