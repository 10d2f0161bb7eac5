"""What the desk's and the web chat's pages and HTTP APIs share against other sites: an Origin
allow-list on state-changing calls, and the headers that keep pages out of frames and scripts
out of pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def served_over_https(connection: HTTPConnection) -> bool:
    """True behind a TLS-terminating proxy too, so cookies get Secure wherever TLS is."""
    forwarded = connection.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return connection.url.scheme in ("https", "wss") or forwarded == "https"


def origin_allowed(connection: HTTPConnection, allowed: tuple[str, ...]) -> bool:
    """An Origin in the allow-list or, with none configured, the page's own origin.

    A call without Origin is no browser's cross-site call (browsers send it on every
    state-changing request and websocket); service callers prove themselves with secrets.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if allowed:
        return origin in allowed
    parsed = urlparse(origin)
    return parsed.scheme in ("http", "https") and parsed.netloc == connection.headers.get("host")


def install_web_security(
    app: Starlette,
    allowed_origins: tuple[str, ...],
    content_security_policy: Callable[[Request], str],
) -> None:
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method in STATE_CHANGING and not origin_allowed(request, allowed_origins):
            response: Response = JSONResponse(
                {
                    "error": {
                        "code": "origin_not_allowed",
                        "message": "this page may not make that request",
                    }
                },
                status_code=403,
            )
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=guard)
