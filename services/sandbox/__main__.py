"""`python -m services.sandbox`: serve the sandbox; tables and seed data are made on first start."""

from __future__ import annotations

from common.environment import process_environment
from common.logging_setup import configure_logging
from common.request_log import serve
from services.sandbox.app import create_app
from services.sandbox.config import Settings


def main() -> None:
    configure_logging("sandbox")
    # The profile's values unless the environment says otherwise, like the other servers.
    settings = Settings.from_environment(process_environment())
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
