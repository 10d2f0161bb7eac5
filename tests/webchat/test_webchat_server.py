"""The web chat server's sign-in and sign-out against an attacker, with a fake sandbox and Rasa
beside it: no dev secrets or demo passcode outside the demo, throttled guessing, revocation at
sign-out, the phone strip only for the customer's own session, pages out of frames."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.environment import PROJECT_ROOT
from common.ports import free_port
from common.secrets import InsecureSetting
from services.webchat.app import SIGN_IN_COOKIE, create_app
from services.webchat.settings import WebChatSettings
from tests.desk.conftest import InLoopServer

SIGNING_SECRET = b"test-only-channel-signing-secret"
REAL = {
    "SANDBOX_SERVICE_SECRET": "a-real-sandbox-service-secret",
    "CHANNEL_SIGNING_SECRET": "a-real-channel-signing-secret",
    "BACKEND_URL": "http://127.0.0.1:9",
}


@dataclass
class FakeBackends:
    """The sandbox's customer and phone endpoints and the Rasa channel's sign-out."""

    port: int = field(default_factory=free_port)
    signed_out: list[str] = field(default_factory=list)
    phone_reads: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def me(request: Request) -> JSONResponse:
            return JSONResponse({"name": f"Customer {request.headers['x-customer-id']}"})

        async def phone(request: Request) -> JSONResponse:
            self.phone_reads.append(request.path_params["customer"])
            return JSONResponse(
                {
                    "messages": [
                        {
                            "body": f"code for {request.path_params['customer']}",
                            "sent_at": "2030-01-01T00:00:00",
                        }
                    ]
                }
            )

        async def sign_out(request: Request) -> JSONResponse:
            self.signed_out.append(request.headers.get("authorization", ""))
            return JSONResponse({"status": "signed out"})

        return Starlette(
            routes=[
                Route("/v1/customers/me", me),
                Route("/sandbox/devices/{customer}/messages", phone),
                Route("/webhooks/signed_rest/sign_out", sign_out, methods=["POST"]),
            ]
        )


@pytest.fixture
async def backends() -> AsyncIterator[FakeBackends]:
    fake = FakeBackends()
    server = InLoopServer.for_app(fake.app(), fake.port)
    await server.start()
    yield fake
    await server.stop()


def settings_for(backends: FakeBackends, **overrides: Any) -> WebChatSettings:
    settings = WebChatSettings(
        port=0,
        rasa_url=backends.url,
        backend_url=backends.url,
        backend_secret="test-only-sandbox-secret",
        backend_timeout_seconds=3,
        demo_passcode="demo",
        signing_secret=SIGNING_SECRET,
    )
    return replace(settings, **overrides)


def browser(
    settings: WebChatSettings, address: str = "127.0.0.1", **headers: str
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://chat.test", headers=headers)


async def sign_in(client: httpx.AsyncClient, customer: str, passcode: str) -> httpx.Response:
    return await client.post("/sign-in", data={"customer": customer, "passcode": passcode})


@pytest.mark.parametrize("name", ["SANDBOX_SERVICE_SECRET", "CHANNEL_SIGNING_SECRET"])
@pytest.mark.parametrize("value", [None, "dev-only-channel-signing-secret", "short"])
def test_outside_the_embedded_profile_a_weak_secret_stops_the_web_chat(
    name: str, value: str | None
) -> None:
    environ = {**REAL, "DEPLOYMENT_PROFILE": "production"}
    if value is None:
        del environ[name]
    else:
        environ[name] = value
    with pytest.raises(InsecureSetting, match=name):
        WebChatSettings.from_environment(environ)


def test_only_the_embedded_profile_has_the_demo_passcode() -> None:
    production = WebChatSettings.from_environment(
        {**REAL, "DEPLOYMENT_PROFILE": "production", "WEBCHAT_DEMO_PASSCODE": "demo"}
    )
    embedded = WebChatSettings.from_environment({**REAL, "DEPLOYMENT_PROFILE": "embedded"})
    assert production.demo_passcode is None and embedded.demo_passcode == "demo"


def test_the_web_chat_process_refuses_to_start_on_the_profiles_dev_secret() -> None:
    environment = {
        **os.environ,
        "DEPLOYMENT_PROFILE": "production",
        "SANDBOX_SERVICE_SECRET": REAL["SANDBOX_SERVICE_SECRET"],
        "CHANNEL_SIGNING_SECRET": "dev-only-channel-signing-secret",
    }
    started = subprocess.run(
        [sys.executable, "-m", "services.webchat"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "CHANNEL_SIGNING_SECRET" in started.stderr


async def test_outside_the_demo_the_demo_sign_in_and_phone_are_refused(
    backends: FakeBackends,
) -> None:
    async with browser(settings_for(backends, demo_passcode=None)) as client:
        refused = await sign_in(client, "C00001", "demo")
        phone = await client.get("/phone")
    assert refused.status_code == 403 and "identity provider" in refused.text
    assert SIGN_IN_COOKIE not in refused.cookies
    assert phone.status_code == 404 and backends.phone_reads == []


async def test_wrong_passcodes_lock_the_customer_and_not_another(backends: FakeBackends) -> None:
    async with browser(settings_for(backends)) as client:
        replies = [await sign_in(client, "C00001", f"guess{n}") for n in range(10)]
        right_but_locked = await sign_in(client, "C00001", "demo")
        other = await sign_in(client, "C00002", "demo")
    assert [r.status_code for r in replies[:5]] == [401] * 5
    assert {r.status_code for r in replies[5:]} == {429}
    assert int(replies[-1].headers["retry-after"]) > 0
    assert right_but_locked.status_code == 429
    assert SIGN_IN_COOKIE not in right_but_locked.cookies
    assert other.status_code == 303


async def test_one_address_cannot_spray_many_customers(backends: FakeBackends) -> None:
    async with browser(settings_for(backends, sign_in_address_limit=4)) as client:
        statuses = [(await sign_in(client, f"C0000{n}", "nope")).status_code for n in range(6)]
    assert statuses == [401] * 4 + [429] * 2


async def test_the_phone_strip_shows_only_the_signed_in_customers_own_texts(
    backends: FakeBackends,
) -> None:
    async with browser(settings_for(backends)) as client:
        anonymous = await client.get("/phone")
        assert (await sign_in(client, "C00007", "demo")).status_code == 303
        own = await client.get("/phone", params={"customer": "C00001"})
    assert anonymous.status_code == 401
    assert own.json()["messages"][0]["body"] == "code for C00007"
    assert backends.phone_reads == ["C00007"]


async def test_signing_out_revokes_the_token_at_rasa_and_forgets_it(backends: FakeBackends) -> None:
    async with browser(settings_for(backends)) as client:
        signed_in = await sign_in(client, "C00003", "demo")
        token = signed_in.cookies[SIGN_IN_COOKIE]
        out = await client.post("/sign-out")
    assert out.status_code == 303
    assert backends.signed_out == [f"Bearer {token}"]
    assert f'{SIGN_IN_COOKIE}=""' in out.headers["set-cookie"]
    assert "storage" in out.headers["clear-site-data"]


async def test_signing_out_works_while_rasa_is_down(backends: FakeBackends) -> None:
    settings = settings_for(backends, rasa_url=f"http://127.0.0.1:{free_port()}")
    async with browser(settings) as client:
        await sign_in(client, "C00004", "demo")
        out = await client.post("/sign-out")
    assert out.status_code == 303 and f'{SIGN_IN_COOKIE}=""' in out.headers["set-cookie"]


async def test_pages_stay_out_of_frames_and_run_no_inline_script(backends: FakeBackends) -> None:
    async with browser(settings_for(backends)) as client:
        home = await client.get("/")
        await sign_in(client, "C00005", "demo")
        chat = await client.get("/chat")
    for page in (home, chat):
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert f"ws://127.0.0.1:{backends.port}" in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"


async def test_the_cookie_is_secure_behind_tls(backends: FakeBackends) -> None:
    async with browser(settings_for(backends), **{"X-Forwarded-Proto": "https"}) as client:
        cookie = (await sign_in(client, "C00006", "demo")).headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


async def test_another_sites_page_cannot_sign_in_or_out(backends: FakeBackends) -> None:
    async with browser(settings_for(backends), Origin="http://evil.example") as client:
        signed_in = await sign_in(client, "C00008", "demo")
        out = await client.post("/sign-out")
    assert signed_in.status_code == out.status_code == 403
    assert signed_in.json()["error"]["code"] == "origin_not_allowed"
    async with browser(settings_for(backends), Origin="http://chat.test") as client:
        assert (await sign_in(client, "C00008", "demo")).status_code == 303
