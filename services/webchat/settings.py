"""The web chat server's settings, from the environment (profiles/*.env plus overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

WEBCHAT_DIR = Path(__file__).resolve().parent
# The widget's self-contained browser build (React included), installed by setup.sh.
WIDGET_BUNDLE = WEBCHAT_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
DEFAULT_PORT = 5200
# Sandbox-only: every synthetic customer signs in with this passcode. A real deployment signs
# customers in with the company's identity provider instead.
DEFAULT_DEMO_PASSCODE = "demo"


@dataclass(frozen=True)
class WebChatSettings:
    port: int
    rasa_url: str
    backend_url: str
    backend_secret: str
    backend_timeout_seconds: float
    demo_passcode: str
    signing_secret: bytes

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> WebChatSettings:
        return cls(
            port=int(environ.get("WEBCHAT_PORT", DEFAULT_PORT)),
            # The browser connects here, so it is the address as the customer's browser sees it.
            rasa_url=environ.get("RASA_URL")
            or f"http://127.0.0.1:{environ.get('RASA_PORT', '5005')}",
            backend_url=environ["BACKEND_URL"],
            backend_secret=environ["SANDBOX_SERVICE_SECRET"],
            backend_timeout_seconds=float(environ.get("BACKEND_TIMEOUT_SECONDS", "3")),
            demo_passcode=environ.get("WEBCHAT_DEMO_PASSCODE") or DEFAULT_DEMO_PASSCODE,
            # The same secret the Rasa server's channels verify sign-in tokens with.
            signing_secret=environ["CHANNEL_SIGNING_SECRET"].encode(),
        )
