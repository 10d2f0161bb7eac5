"""`python -m services.webchat`: serve the web chat page on WEBCHAT_HOST:WEBCHAT_PORT."""

from __future__ import annotations

from common.environment import process_environment
from common.logging_setup import configure_logging
from common.request_log import serve
from services.webchat.app import create_app
from services.webchat.settings import WebChatSettings


def main() -> None:
    configure_logging("webchat")
    # The profile's values (sandbox address and secret) unless the environment says otherwise.
    settings = WebChatSettings.from_environment(process_environment())
    # Plain HTTP only: socket.io goes straight from the browser to the Rasa server.
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
