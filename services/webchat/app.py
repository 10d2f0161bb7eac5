"""The web chat server: sign-in as a sandbox customer, then the chat page.

This server is the channel side of the sign-in: it checks the customer against the sandbox
(through the one back-end client, clients/backend.py), issues the signed sign-in token
(common/customer_binding.py) and hands it to the widget,
which presents it when its socket connects to Rasa. The browser never chooses who it is.
"""

from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import parse_qs, urlparse

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from clients.backend import BackendClient, BackendError
from common.customer_binding import (
    DEFAULT_TOKEN_SECONDS,
    InvalidSignInToken,
    issue_sign_in_token,
    verify_sign_in_token,
)
from services.sign_in_guard import SignInGuard, retry_after, wait_wording
from services.web_security import install_web_security, served_over_https
from services.webchat.pages import chat_page, sign_in_page
from services.webchat.settings import WEBCHAT_DIR, WIDGET_BUNDLE, WebChatSettings

logger = logging.getLogger(__name__)

SIGN_IN_COOKIE = "webchat_sign_in"
CUSTOMER_NUMBER = re.compile(r"C\d{5}")
# The Rasa channel's revocation endpoint (channels/): the token stops working there at once.
SIGN_OUT_PATH = "/webhooks/signed_rest/sign_out"
IDENTITY_PROVIDER_ONLY = (
    "This service signs customers in through the company's identity "
    "provider; the demo passcode works only in the local demo."
)


class SandboxUnavailable(Exception):
    """The product back-end sandbox did not answer as expected."""


async def customer_name(backend: BackendClient, customer_id: str) -> str | None:
    """The customer's name from the sandbox, or None when there is no such customer."""
    try:
        profile = await backend.get_profile(customer_id)
    except BackendError as error:
        if error.kind == "not_found":
            return None
        raise SandboxUnavailable(str(error)) from error
    return str(profile["name"])


async def phone_messages(backend: BackendClient, customer_id: str) -> list[dict[str, str]]:
    """The latest texts the sandbox "sent" to the customer's registered phone (security codes),
    so a demo customer can read them beside the chat. A real back end has no such inbox."""
    try:
        messages = await backend.phone_messages(customer_id, limit=3)
    except BackendError:
        return []
    return [{"body": m["body"], "sent_at": m["sent_at"]} for m in messages[:3]]


def signed_in_customer(request: Request, secret: bytes) -> tuple[str, str] | None:
    """(customer id, sign-in token) from the sign-in cookie, if it holds a valid token."""
    token = request.cookies.get(SIGN_IN_COOKIE, "")
    try:
        return verify_sign_in_token(token, secret), token
    except InvalidSignInToken:
        return None


async def revoke_sign_in_token(settings: WebChatSettings, token: str) -> None:
    """Tells the Rasa channel the token is void; the cookie goes whatever Rasa answers."""
    try:
        async with httpx.AsyncClient(timeout=settings.backend_timeout_seconds) as client:
            reply = await client.post(
                f"{settings.rasa_url.rstrip('/')}{SIGN_OUT_PATH}",
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError as error:
        logger.warning(
            "sign-out: the Rasa server could not revoke the token (%s)", type(error).__name__
        )
        return
    if reply.status_code != 200:
        logger.warning("sign-out: the Rasa server answered %s to the revocation", reply.status_code)


def content_security_policy(rasa_url: str) -> str:
    """Scripts from this server only (no inline script, no javascript: links, whatever a
    message carries); the widget's socket to Rasa; inline styles, which the widget injects."""
    rasa = urlparse(rasa_url)
    socket_scheme = "wss" if rasa.scheme == "https" else "ws"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https:; font-src 'self' data:; "
        f"connect-src 'self' {rasa.scheme}://{rasa.netloc} {socket_scheme}://{rasa.netloc}; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def create_app(settings: WebChatSettings) -> Starlette:
    guard = SignInGuard.create(
        "webchat",
        settings.rate_limit_redis_url,
        settings.sign_in_name_limit,
        settings.sign_in_address_limit,
        settings.sign_in_window_seconds,
    )
    demo = settings.demo_passcode is not None
    backend = BackendClient(
        settings.backend_url,
        settings.backend_secret,
        timeout_seconds=settings.backend_timeout_seconds,
    )

    async def home(request: Request) -> HTMLResponse | RedirectResponse:
        if signed_in_customer(request, settings.signing_secret):
            return RedirectResponse("/chat", status_code=303)
        return HTMLResponse(sign_in_page(demo=demo))

    async def sign_in(request: Request) -> HTMLResponse | RedirectResponse:
        form = parse_qs((await request.body()).decode(errors="replace"))
        customer_id = form.get("customer", [""])[0].strip().upper()
        passcode = form.get("passcode", [""])[0]
        if settings.demo_passcode is None:
            return HTMLResponse(
                sign_in_page(IDENTITY_PROVIDER_ONLY, customer_id, demo=demo), status_code=403
            )
        address = request.client.host if request.client else "unknown"
        wait = await guard.attempt(customer_id, address)
        if wait is not None:
            # Refused before the passcode is looked at: while locked, the right one fails too.
            return HTMLResponse(
                sign_in_page(
                    f"Too many sign-in attempts. Try again in {wait_wording(wait)}.",
                    customer_id,
                    demo=demo,
                ),
                status_code=429,
                headers=retry_after(wait),
            )
        if not CUSTOMER_NUMBER.fullmatch(customer_id) or not hmac.compare_digest(
            passcode.encode(), settings.demo_passcode.encode()
        ):
            return HTMLResponse(
                sign_in_page("Wrong customer number or passcode.", customer_id, demo=demo),
                status_code=401,
            )
        try:
            name = await customer_name(backend, customer_id)
        except SandboxUnavailable:
            return HTMLResponse(
                sign_in_page(
                    "The sandbox is not answering; is it running?", customer_id, demo=demo
                ),
                status_code=503,
            )
        if name is None:
            return HTMLResponse(
                sign_in_page("Wrong customer number or passcode.", customer_id, demo=demo),
                status_code=401,
            )
        await guard.succeeded(customer_id)
        token = issue_sign_in_token(customer_id, settings.signing_secret)
        redirect = RedirectResponse("/chat", status_code=303)
        redirect.set_cookie(
            SIGN_IN_COOKIE,
            token,
            max_age=DEFAULT_TOKEN_SECONDS,
            httponly=True,
            samesite="strict",
            secure=served_over_https(request),
        )
        return redirect

    async def chat(request: Request) -> HTMLResponse | RedirectResponse:
        signed_in = signed_in_customer(request, settings.signing_secret)
        if signed_in is None:
            return RedirectResponse("/", status_code=303)
        customer_id, token = signed_in
        try:
            name = await customer_name(backend, customer_id) or customer_id
        except SandboxUnavailable:
            name = customer_id
        return HTMLResponse(chat_page(customer_id, name, settings.rasa_url, token, phone=demo))

    async def phone(request: Request) -> JSONResponse:
        # The sandbox's inbox holds every customer's codes: only the demo has it, and only
        # the signed-in customer's own messages come through.
        if not demo:
            return JSONResponse({"messages": []}, status_code=404)
        signed_in = signed_in_customer(request, settings.signing_secret)
        if signed_in is None:
            return JSONResponse({"messages": []}, status_code=401)
        return JSONResponse({"messages": await phone_messages(backend, signed_in[0])})

    async def sign_out(request: Request) -> RedirectResponse:
        signed_in = signed_in_customer(request, settings.signing_secret)
        if signed_in is not None:
            await revoke_sign_in_token(settings, signed_in[1])
        redirect = RedirectResponse("/", status_code=303)
        redirect.delete_cookie(
            SIGN_IN_COOKIE, httponly=True, samesite="strict", secure=served_over_https(request)
        )
        # The widget keeps the chat (and with it the socket's token) in the tab's storage.
        redirect.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
        return redirect

    async def widget(_: Request) -> FileResponse | PlainTextResponse:
        if not WIDGET_BUNDLE.exists():
            return PlainTextResponse(
                "rasa-webchat is not installed: run services/webchat/setup.sh", status_code=503
            )
        return FileResponse(WIDGET_BUNDLE, media_type="text/javascript")

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        on_shutdown=[backend.aclose],
        routes=[
            Route("/", home),
            Route("/sign-in", sign_in, methods=["POST"]),
            Route("/chat", chat),
            Route("/sign-out", sign_out, methods=["POST"]),
            Route("/phone", phone),
            Route("/health", health),
            Route("/static/rasa-webchat.js", widget),
            Mount("/static", StaticFiles(directory=WEBCHAT_DIR / "static"), name="static"),
        ],
    )
    policy = content_security_policy(settings.rasa_url)
    install_web_security(app, settings.allowed_origins, lambda _: policy)
    return app
