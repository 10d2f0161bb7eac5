"""The agents' console: sign-in, the page, and its live socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs, urlparse

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.websockets import WebSocketDisconnect

from services.desk import agent_views
from services.desk.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    check_password,
    desk_of,
    session_token,
    signed_in_agent,
)
from services.desk.live import ConsoleSocket
from services.desk.pages import console_page, login_page

router = APIRouter(tags=["console"], include_in_schema=False)


@router.get("/console")
async def console(request: Request) -> HTMLResponse:
    agent = await signed_in_agent(request)
    if agent is None:
        return HTMLResponse(login_page())
    return HTMLResponse(console_page(await agent_views.overview(desk_of(request), agent)))


async def _credentials(request: Request) -> tuple[str, str]:
    """Username and password from the form (or a JSON body, for scripts)."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            fields = json.loads(body)
        except ValueError:
            fields = {}
        fields = fields if isinstance(fields, dict) else {}
        return str(fields.get("username", "")), str(fields.get("password", ""))
    form = parse_qs(body.decode("utf-8", errors="replace"))
    return form.get("username", [""])[0], form.get("password", [""])[0]


@router.post("/console/login")
async def login(request: Request) -> Response:
    username, password = await _credentials(request)
    desk = desk_of(request)
    agent = await check_password(desk, username.strip(), password)
    if agent is None:
        return HTMLResponse(login_page("Wrong username or password.", username), status_code=401)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_token(desk, agent), max_age=SESSION_SECONDS,
                        httponly=True, samesite="strict", path="/")
    return response


@router.post("/console/logout")
async def logout() -> Response:
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _same_origin(websocket: WebSocket) -> bool:
    """Browsers always send Origin on a websocket; another site's page must not ride on the
    agent's cookie."""
    origin = websocket.headers.get("origin")
    return origin is None or urlparse(origin).netloc == websocket.headers.get("host")


@router.websocket("/console/ws")
async def console_socket(websocket: WebSocket) -> None:
    agent = await signed_in_agent(websocket) if _same_origin(websocket) else None
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
