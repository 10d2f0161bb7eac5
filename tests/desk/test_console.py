"""The agents' console: signing in, the page, its socket, and customer text shown as text."""

from __future__ import annotations

import pytest
import websockets

from services.desk.app import STATIC_DIR
from services.desk.auth import SESSION_COOKIE
from tests.desk.conftest import RunningDesk

SCRIPT = "<script>alert(1)</script>"


async def test_the_console_asks_for_a_sign_in_first(desk: RunningDesk) -> None:
    page = await desk.client().get("/console")
    assert page.status_code == 200
    for testid in ("login-username", "login-password", "login-submit"):
        assert f'data-testid="{testid}"' in page.text
    assert (await desk.client().get("/api/agent/queue")).status_code == 401


async def test_a_wrong_password_is_refused_with_a_clear_error(desk: RunningDesk) -> None:
    for username, password in (("agent", "wrong"), ("nobody", "demo"), ("", "")):
        reply = await desk.client().post(
            "/console/login", data={"username": username, "password": password}
        )
        assert reply.status_code == 401
        assert "Wrong username or password." in reply.text
        assert SESSION_COOKIE not in reply.cookies


async def test_the_typed_username_comes_back_escaped(desk: RunningDesk) -> None:
    reply = await desk.client().post("/console/login", data={"username": SCRIPT, "password": "x"})
    assert SCRIPT not in reply.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.text


async def test_signing_in_sets_a_strict_http_only_session_cookie(desk: RunningDesk) -> None:
    reply = await desk.client().post(
        "/console/login", data={"username": "agent", "password": "demo"}
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/console"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie

    lin = await desk.sign_in("agent")
    page = await lin.http.get("/console")
    for testid in (
        "queue",
        "my-conversations",
        "callbacks",
        "conversation-transcript",
        "message-input",
        "send-button",
        "resolve-button",
        "summary",
        "profile",
    ):
        assert f'data-testid="{testid}"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_a_forged_or_missing_cookie_gets_nothing(desk: RunningDesk) -> None:
    forged = desk.client(headers={"Cookie": f"{SESSION_COOKIE}=eyJzdWIiOiJ4In0.abc"})
    assert (await forged.get("/api/agent/queue")).status_code == 401
    assert 'data-testid="login-username"' in (await forged.get("/console")).text
    with pytest.raises(websockets.InvalidStatusCode):
        await websockets.connect(f"ws://127.0.0.1:{desk.port}/console/ws")


async def test_the_console_socket_refuses_another_sites_page(desk: RunningDesk) -> None:
    lin = await desk.sign_in("agent")
    with pytest.raises(websockets.InvalidStatusCode):
        await websockets.connect(
            lin.ws_url,
            origin="http://evil.example",
            extra_headers={"Cookie": f"{SESSION_COOKIE}={lin.cookie}"},
        )


async def test_signing_out_clears_the_cookie(desk: RunningDesk) -> None:
    reply = await desk.client().post("/console/logout")
    assert reply.status_code == 303
    assert f'{SESSION_COOKIE}=""' in reply.headers["set-cookie"]


async def test_customer_text_is_shown_as_text_everywhere(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff(
        customer_name=SCRIPT,
        reason_detail=SCRIPT,
        transcript=[
            {"author": "customer", "text": SCRIPT, "timestamp": 1764400000.0, "message_id": "x1"}
        ],
    )

    page = await lin.http.get("/console")
    assert SCRIPT not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text

    detail = await lin.http.get(f"/api/agent/handoffs/{opened['handoff_id']}")
    assert detail.headers["content-type"] == "application/json"
    assert detail.headers["x-content-type-options"] == "nosniff"
    assert detail.json()["transcript"][0]["text"] == SCRIPT  # data, drawn with textContent
    script = (STATIC_DIR / "console.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


async def test_the_static_files_are_served(desk: RunningDesk) -> None:
    for name, kind in (("console.js", "javascript"), ("console.css", "text/css")):
        reply = await desk.client().get(f"/console/static/{name}")
        assert reply.status_code == 200 and kind in reply.headers["content-type"]
