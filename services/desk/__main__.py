"""`python -m services.desk`: serve the desk on DESK_HOST:DESK_PORT (loopback by default)."""

from __future__ import annotations

from common.environment import process_environment
from common.logging_setup import configure_logging
from common.request_log import serve
from services.desk.app import create_app
from services.desk.settings import DeskSettings


def main() -> None:
    configure_logging("desk")
    # The profile's values unless the environment says otherwise.
    settings = DeskSettings.from_environment(process_environment())
    # One worker: who is at the console lives in this process.
    serve(create_app(settings), settings.host, settings.port, websockets="wsproto")


if __name__ == "__main__":
    main()
