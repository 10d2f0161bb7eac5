"""One log line per HTTP request or websocket of a Starlette/FastAPI service.

The line names the route's path template (``/v1/cards/{card_ref}``), never the path it was
called with, and never the query string or a body: paths and query strings may hold a card
number, a customer id or a token. A ``conversation_id`` path parameter becomes the request's
conversation (common.logging_setup), so everything logged while serving it carries it.
"""

from __future__ import annotations

import logging
import time

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Message, Receive, Scope, Send

from common.logging_setup import conversation

logger = logging.getLogger("request")
UNMATCHED = "(no route)"


def path_template(routes: list[BaseRoute], scope: Scope) -> tuple[str, dict[str, str]]:
    """The template of the route that will serve ``scope``, and its path parameters."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        params = dict(child.get("path_params", {}))
        if isinstance(route, Mount):
            return f"{route.path}/{{path}}", params
        return str(getattr(route, "path", UNMATCHED)), params
    return UNMATCHED, {}


class RequestLog:
    """ASGI middleware around a whole Starlette app: method, template, status, duration."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        template, params = path_template(self.app.router.routes, scope)
        method = scope.get("method", "WEBSOCKET")
        status: int | None = None

        async def recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and status is None:
                status = 403
            await send(message)

        started = time.perf_counter()
        with conversation(params.get("conversation_id")):
            try:
                await self.app(scope, receive, recording_status)
            except Exception:
                # Starlette has already answered 500 (or the client went away); the error
                # itself is logged by the app's handler.
                status = status or 500
                raise
            finally:
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                logger.info(
                    "%s %s %s %.1f ms",
                    method,
                    template,
                    status,
                    duration_ms,
                    extra={
                        "method": method,
                        "path": template,
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                )


def serve(app: Starlette, host: str, port: int, websockets: str = "none") -> None:
    """Serves a service with our request log instead of uvicorn's access lines, which carry
    whole paths (card numbers can be in them) and query strings."""
    import uvicorn

    # ``websockets``: "none", or "wsproto", because Rasa pins a websockets release too old
    # for uvicorn's own websockets support.
    uvicorn.run(
        RequestLog(app),
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        access_log=False,
        ws=websockets,
        workers=1,
    )
