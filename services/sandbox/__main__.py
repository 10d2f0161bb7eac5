"""`python -m services.sandbox`: serve the sandbox; tables and seed data are made on first start."""

from __future__ import annotations

import uvicorn

from common.environment import process_environment
from common.logging_setup import configure_logging
from common.request_log import RequestLog
from services.sandbox.app import create_app
from services.sandbox.config import Settings


def main() -> None:
    configure_logging("sandbox")
    # The profile's values unless the environment says otherwise, like the other servers.
    settings = Settings.from_environment(process_environment())
    # No websockets here, and Rasa pins a websockets release too old for uvicorn's auto-detection.
    # Our logging, not uvicorn's: its access lines carry whole paths (card numbers can be in
    # them) and query strings.
    uvicorn.run(
        RequestLog(create_app(settings)),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        access_log=False,
        ws="none",
    )


if __name__ == "__main__":
    main()
