"""The action server: rasa-sdk's app, answering the Rasa server and nobody else.

rasa-sdk on its own binds every interface and runs any action for anyone who can reach its
port, trusting the tracker in the request. Here it binds loopback unless ACTION_SERVER_HOST
says otherwise, and every call but the health check must carry ACTION_SERVER_TOKEN, which only
the Rasa server has (endpoints.yml sends it), before any action runs. Errors answer without
echoing the request: the request is the whole conversation.

Rasa sends its domain only to the actions that need it from Rasa (``enable_selective_domain``
in endpoints.yml); every other call gets the domain parts the actions read from the server's
own copy (actions/assistant_domain.py).
"""

from __future__ import annotations

import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.assistant_domain import action_domain
from actions.backend_access import read_scope
from clients.backend import keep_reads_for
from common.assistant_settings import ActionServerSettings, action_server_settings
from common.logging_setup import configure_logging, set_conversation_id

logger = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health"})


def _carries_token(request: Request, token: str) -> bool:
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def create_action_app(settings: ActionServerSettings) -> Sanic:
    # No CORS origins: no browser page has any business calling the action server.
    app = create_app("actions", cors_origins="")

    @app.on_request
    async def refuse_strangers(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if not _carries_token(request, settings.token):
            logger.warning("action server: refused a call without the token from %s", request.ip)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.on_request
    async def name_the_conversation(request: Request) -> None:
        # Sanic runs the middleware and the action in one task, so everything logged while
        # the action runs carries the conversation; set on every request, as a kept-alive
        # connection serves several.
        try:
            payload = request.json
        except InvalidUsage:  # rasa-sdk answers the malformed request itself
            payload = None
        sender_id = payload.get("sender_id") if isinstance(payload, dict) else None
        set_conversation_id(sender_id if isinstance(sender_id, str) else None)
        tracker = payload.get("tracker") if isinstance(payload, dict) else None
        events = tracker.get("events") if isinstance(tracker, dict) else None
        # The back-end reads this call may take from those kept (actions/backend_access.py).
        keep_reads_for(
            read_scope(sender_id, events)
            if isinstance(sender_id, str) and isinstance(events, list)
            else None
        )

    # Read now, so that a broken domain file stops the server at start, not a customer's call.
    domain = action_domain()

    @app.on_request
    async def supply_the_domain(request: Request) -> None:
        # rasa-sdk hands the actions the request's own parsed body: a call Rasa sent without
        # its domain gets this server's copy of the parts the actions read.
        try:
            payload = request.json
        except InvalidUsage:
            return
        if isinstance(payload, dict) and payload.get("next_action") and "domain" not in payload:
            payload["domain"] = domain

    async def answer_without_echo(request: Request, exception: Exception) -> HTTPResponse:
        status = int(getattr(exception, "status_code", 500) or 500)
        if status >= 500:
            logger.error(
                "action server: %s while running an action",
                type(exception).__name__,
                exc_info=exception,
            )
        return response.json({"error": "the action could not be run"}, status=status)

    app.error_handler.add(Exception, answer_without_echo)
    return app


def main() -> None:
    configure_logging("action_server")
    # Read at start, so that a missing or dev-only secret stops the server now.
    settings = action_server_settings()
    app = create_action_app(settings)
    logger.info("action server on http://%s:%s", settings.host, settings.port)
    app.run(settings.host, settings.port, workers=settings.workers, access_log=False)


if __name__ == "__main__":
    main()
