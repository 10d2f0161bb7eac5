"""`python -m services.sandbox`: serve the sandbox; tables and seed data are made on first start."""

from __future__ import annotations

import uvicorn

from services.sandbox.app import create_app
from services.sandbox.config import Settings


def main() -> None:
    settings = Settings.from_env()
    # No websockets here, and Rasa pins a websockets release too old for uvicorn's auto-detection.
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level="info", ws="none"
    )


if __name__ == "__main__":
    main()
