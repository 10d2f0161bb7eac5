"""The web chat server's settings, from the environment (profiles/*.env plus overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.secrets import is_embedded, required_secret
from services.sign_in_guard import ADDRESS_LIMIT, NAME_LIMIT, WINDOW_SECONDS
from services.web_security import parse_origins

WEBCHAT_DIR = Path(__file__).resolve().parent
# The widget's self-contained browser build (React included), installed by setup.sh.
WIDGET_BUNDLE = WEBCHAT_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
DEFAULT_PORT = 5200
# Embedded profile only: every synthetic customer signs in with this passcode. A deployment
# signs customers in with the company's identity provider instead, so outside that profile the
# demo sign-in is refused.
DEFAULT_DEMO_PASSCODE = "demo"


@dataclass(frozen=True)
class WebChatSettings:
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
    rate_limit_redis_url: str | None = None
    sign_in_name_limit: int = NAME_LIMIT
    sign_in_address_limit: int = ADDRESS_LIMIT
    sign_in_window_seconds: float = WINDOW_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> WebChatSettings:
        return cls(
            port=int(environ.get("WEBCHAT_PORT", DEFAULT_PORT)),
            # The browser connects here, so it is the address as the customer's browser sees it.
            rasa_url=environ.get("RASA_URL")
            or f"http://127.0.0.1:{environ.get('RASA_PORT', '5005')}",
            backend_url=environ["BACKEND_URL"],
            backend_secret=required_secret(environ, "SANDBOX_SERVICE_SECRET"),
            backend_timeout_seconds=float(environ.get("BACKEND_TIMEOUT_SECONDS", "3")),
            demo_passcode=(environ.get("WEBCHAT_DEMO_PASSCODE") or DEFAULT_DEMO_PASSCODE
                           if is_embedded(environ) else None),
            # The same secret the Rasa server's channels verify sign-in tokens with.
            signing_secret=required_secret(environ, "CHANNEL_SIGNING_SECRET").encode(),
            allowed_origins=parse_origins(environ.get("WEBCHAT_ALLOWED_ORIGINS", "")),
            rate_limit_redis_url=environ.get("RATE_LIMIT_REDIS_URL") or None,
        )
