"""The desk against an attacker: no dev secrets or demo agents outside the demo profile, sign-in
throttled, sign-out that really ends the session, pages that stay out of frames, other sites'
pages refused."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid

import httpx
import pytest
import websockets

from common.environment import PROJECT_ROOT
from common.secrets import InsecureSetting
from services.desk.auth import SESSION_COOKIE
from services.desk.settings import DeskSettings
from tests.desk.conftest import DeskFactory, RunningDesk

REAL = {
    "DESK_SERVICE_SECRET": "a-real-desk-service-secret",
    "DESK_SESSION_SECRET": "a-real-desk-session-secret",
    "RASA_API_TOKEN": "a-real-rasa-api-token-value",
}
EVIL = "http://evil.example"


@pytest.mark.parametrize("name", sorted(REAL))
@pytest.mark.parametrize("value", [None, "dev-only-desk-service-secret", "short"])
def test_outside_the_embedded_profile_each_weak_secret_stops_the_desk(
    name: str, value: str | None
) -> None:
    environ = {**REAL, "DEPLOYMENT_PROFILE": "production"}
    if value is None:
        del environ[name]
    else:
        environ[name] = value
    with pytest.raises(InsecureSetting, match=name):
        DeskSettings.from_environment(environ)


def test_only_the_embedded_profile_has_demo_agents() -> None:
    production = DeskSettings.from_environment(
        {**REAL, "DEPLOYMENT_PROFILE": "production", "DESK_DEMO_PASSWORD": "demo"}
    )
    embedded = DeskSettings.from_environment({**REAL, "DEPLOYMENT_PROFILE": "embedded"})
    assert production.demo_password is None
    assert embedded.demo_password == "demo"


def test_the_desk_process_refuses_to_start_on_the_profiles_dev_secret() -> None:
    environment = {
        **os.environ,
        "DEPLOYMENT_PROFILE": "production",
        "DESK_SERVICE_SECRET": "dev-only-desk-service-secret",
    }
    started = subprocess.run(
        [sys.executable, "-m", "services.desk"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "DESK_SERVICE_SECRET" in started.stderr


async def test_a_desk_outside_the_demo_profile_has_no_demo_agents(start_desk: DeskFactory) -> None:
    desk = await start_desk(demo_password=None)
    reply = await desk.client().post(
        "/console/login", data={"username": "agent", "password": "demo"}
    )
    assert reply.status_code == 401
    assert "demo password" not in (await desk.client().get("/console")).text


async def sign_in(desk: RunningDesk, username: str, password: str) -> httpx.Response:
    return await desk.client().post(
        "/console/login", data={"username": username, "password": password}
    )


async def test_thirty_wrong_passwords_lock_the_name_and_not_another(desk: RunningDesk) -> None:
    replies = [await sign_in(desk, "agent", f"guess-{n}") for n in range(30)]
    assert [r.status_code for r in replies[:5]] == [401] * 5
    assert {r.status_code for r in replies[5:]} == {429}
    assert 0 < int(replies[-1].headers["retry-after"]) <= 15 * 60
    assert "Too many sign-in attempts" in replies[-1].text
    right_but_locked = await sign_in(desk, "agent", "demo")
    assert right_but_locked.status_code == 429
    assert SESSION_COOKIE not in right_but_locked.cookies
    assert (await sign_in(desk, "cards", "demo")).status_code == 303


async def test_one_address_cannot_spray_many_names(start_desk: DeskFactory) -> None:
    desk = await start_desk(sign_in_address_limit=8)
    statuses = [(await sign_in(desk, f"user{n}", "demo")).status_code for n in range(10)]
    assert statuses[:8] == [401] * 8 and statuses[8:] == [429, 429]


def redis_url() -> str:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is needed under CI=true: {error}")
        pytest.skip(f"Redis not reachable: {error}")
    return "redis://127.0.0.1:6379/2"


async def test_two_desks_share_the_count_through_redis(start_desk: DeskFactory, tmp_path) -> None:
    url = redis_url()
    first = await start_desk(rate_limit_redis_url=url)
    second = await start_desk(
        f"sqlite+aiosqlite:///{tmp_path / 'second.db'}", rate_limit_redis_url=url
    )
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    for desk in (first, second, first, second, first):
        assert (await sign_in(desk, name, "x")).status_code == 401
    assert (await sign_in(second, name, "x")).status_code == 429


async def test_signing_out_ends_the_session_on_the_server(desk: RunningDesk) -> None:
    lin = await desk.sign_in("agent")
    assert (await lin.http.get("/api/agent/queue")).status_code == 200
    assert (await lin.http.post("/console/logout")).status_code == 303
    # The same cookie, replayed after the sign-out, opens nothing.
    assert (await lin.http.get("/api/agent/queue")).status_code == 401
    assert 'data-testid="login-username"' in (await lin.http.get("/console")).text
    with pytest.raises(websockets.InvalidStatusCode):
        await websockets.connect(
            lin.ws_url, extra_headers={"Cookie": f"{SESSION_COOKIE}={lin.cookie}"}
        )
    other = await desk.sign_in("agent")
    assert (await other.http.get("/api/agent/queue")).status_code == 200


async def test_pages_stay_out_of_frames_and_cookies_follow_https(desk: RunningDesk) -> None:
    page = await desk.client().get("/console")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"

    plain = await sign_in(desk, "agent", "demo")
    assert "secure" not in plain.headers["set-cookie"].lower()
    behind_tls = await desk.client(headers={"X-Forwarded-Proto": "https"}).post(
        "/console/login", data={"username": "agent", "password": "demo"}
    )
    cookie = behind_tls.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


async def test_another_sites_page_cannot_change_anything(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff()
    handoff = opened["handoff_id"]
    evil = {"Origin": EVIL}
    login = await desk.client(headers=evil).post(
        "/console/login", data={"username": "agent", "password": "demo"}
    )
    claim = await lin.http.post(f"/api/agent/handoffs/{handoff}/claim", headers=evil)
    logout = await lin.http.post("/console/logout", headers=evil)
    for reply in (login, claim, logout):
        assert reply.status_code == 403
        assert reply.json()["error"]["code"] == "origin_not_allowed"
    # Reading is harmless; the console's own page may act.
    assert (await lin.http.get("/api/agent/queue", headers=evil)).status_code == 200
    own = await lin.http.post(f"/api/agent/handoffs/{handoff}/claim", headers={"Origin": desk.url})
    assert own.status_code == 200, own.text


async def test_a_configured_allow_list_replaces_the_own_origin(start_desk: DeskFactory) -> None:
    desk = await start_desk(allowed_origins=("https://desk.example.com",))
    allowed = await desk.client(headers={"Origin": "https://desk.example.com"}).post(
        "/console/login", data={"username": "agent", "password": "demo"}
    )
    own = await desk.client(headers={"Origin": desk.url}).post(
        "/console/login", data={"username": "agent", "password": "demo"}
    )
    assert allowed.status_code == 303 and own.status_code == 403


async def test_bodies_that_are_not_objects_are_refused_with_a_code(desk: RunningDesk) -> None:
    service = desk.service()
    for body in (b"[1,2,3]", b'"hello"', b"", b"null", b"{", b"\xff"):
        replies = await asyncio.gather(
            service.post(
                "/api/handoffs", content=body, headers={"Content-Type": "application/json"}
            ),
            service.post(
                "/api/conversations/c1/rating",
                content=body,
                headers={"Content-Type": "application/json"},
            ),
            desk.client().post(
                "/console/login", content=body, headers={"Content-Type": "application/json"}
            ),
        )
        for reply in replies:
            assert 400 <= reply.status_code < 500, (body, reply.status_code, reply.text)
        assert replies[0].json()["error"]["code"]
