"""The agents' console: sign-in, the page, and its live socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.websockets import WebSocketDisconnect

from services.desk import agent_views
from services.desk.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    check_password,
    desk_of,
    end_session,
    signed_in_agent,
    start_session,
)
from services.desk.live import ConsoleSocket
from services.desk.pages import console_page, login_page, page_after_sign_in
from services.sign_in_guard import SignInGuard, retry_after, wait_wording
from services.web_security import origin_allowed, served_over_https

router = APIRouter(tags=["console"], include_in_schema=False)
LOGIN_FIELDS = ("username", "password", "next")


@router.get("/console")
async def console(request: Request) -> HTMLResponse:
    agent = await signed_in_agent(request)
    if agent is None:
        return HTMLResponse(login_page(demo_agents=_demo_agents(request)))
    return HTMLResponse(console_page(await agent_views.overview(desk_of(request), agent)))


def _sign_in_guard(request: Request) -> SignInGuard:
    return request.app.state.sign_in_guard


def _demo_agents(request: Request) -> bool:
    return desk_of(request).settings.demo_password is not None


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _credentials(request: Request) -> tuple[str, str, str]:
    """Username, password and the page to go to from the form (or a JSON body, for scripts)."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            fields = json.loads(body)
        except ValueError:
            fields = {}
        fields = fields if isinstance(fields, dict) else {}
        username, password, next_page = (str(fields.get(name, "")) for name in LOGIN_FIELDS)
        return username, password, next_page
    form = parse_qs(body.decode("utf-8", errors="replace"))
    username, password, next_page = (form.get(name, [""])[0] for name in LOGIN_FIELDS)
    return username, password, next_page


@router.post("/console/login")
async def login(request: Request) -> Response:
    username, password, asked_page = await _credentials(request)
    next_page = page_after_sign_in(asked_page)
    desk = desk_of(request)
    guard = _sign_in_guard(request)
    wait = await guard.attempt(username, _client_address(request))
    if wait is not None:
        # Refused before the password is looked at: while locked, the right one fails too.
        return HTMLResponse(
            login_page(
                f"Too many sign-in attempts. Try again in {wait_wording(wait)}.",
                username,
                _demo_agents(request),
                next_page,
            ),
            status_code=429,
            headers=retry_after(wait),
        )
    agent = await check_password(desk, username.strip(), password)
    if agent is None:
        return HTMLResponse(
            login_page("Wrong username or password.", username, _demo_agents(request), next_page),
            status_code=401,
        )
    await guard.succeeded(username)
    response = RedirectResponse(next_page, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        await start_session(desk, agent),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        path="/",
        secure=served_over_https(request),
    )
    return response


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    await end_session(request)
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=served_over_https(request),
    )
    return response


@router.websocket("/console/ws")
async def console_socket(websocket: WebSocket) -> None:
    # Browsers always send Origin on a websocket; another site's page must not ride on the
    # agent's cookie.
    allowed = origin_allowed(websocket, desk_of(websocket).settings.allowed_origins)
    agent = await signed_in_agent(websocket) if allowed else None
    if agent is None:
        await websocket.close(code=1008)
        return
    hub = desk_of(websocket).hub
    # Available from before the handshake completes, so a console that is open counts.
    socket = hub.connect(agent.id, list(agent.skills))
    sender: asyncio.Task[None] | None = None
    try:
        await websocket.accept()
        sender = _forward_events(websocket, socket)
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # the browser's keep-alive pings
    except WebSocketDisconnect:
        pass
    finally:
        if sender is not None:
            sender.cancel()
        hub.disconnect(socket)


def _forward_events(websocket: WebSocket, socket: ConsoleSocket) -> asyncio.Task[None]:
    async def forward() -> None:
        # A failed send means the socket is gone; the receiving loop sees that and cleans up.
        with contextlib.suppress(Exception):
            while True:
                await websocket.send_json(await socket.events.get())

    return asyncio.create_task(forward())
