"""The supervisors' page in the desk: only supervisors see it, and its figures are the
analytics service's, read over real HTTP from a fake analytics server that answers in the
service's contract and records what it was asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from common.clock import utcnow
from common.ports import free_port
from common.secrets import InsecureSetting
from services.desk.models import Agent
from services.desk.settings import DeskSettings
from tests.desk.conftest import DEMO_PASSWORD, DeskFactory, InLoopServer, RunningDesk

ANALYTICS_SECRET = "test-only-analytics-service-secret"
KPIS = {
    "period": {"start": "2026-11-01", "end": "2026-11-30"},
    "filters": {"line": "bank", "channel": "rest", "intent": None},
    "sessions": 40,
    "self_service_rate": 0.9,
    "first_contact_resolution_rate": 0.85,
    "satisfaction": {
        "csat": 0.8,
        "average": 4.2,
        "responses": 10,
        "asked": 20,
        "response_rate": 0.5,
        "distribution": {"1": 1, "2": 0, "3": 1, "4": 3, "5": 5},
    },
    "escalation": {"rate": 0.1, "reasons": {"customer_request": 3, "policy": 1}},
    "abandonment": {"rate": 0.05, "where": {"transfer_money_form:amount": 2}},
    "fallback_rate": 0.06,
    "clarification_rate": 0.04,
    "out_of_scope_rate": 0.02,
    "trend": [{"date": "2026-11-29", "sessions": 40, "self_service_rate": 0.9, "csat": 0.8}],
    "by_line": [{"line": "bank", "sessions": 40, "self_service_rate": 0.9}],
}
CLUSTERS = {
    "clusters": [
        {
            "label": "someone used my card without asking",
            "count": 12,
            "outcomes": {"fallback": 8, "handoff": 4},
            "examples": ["someone used my card without asking"],
        }
    ]
}
DRAFT = 'version: "3.1"\nnlu:\n- intent: draft_someone_used_my_card\n  examples: |\n    - x\n'


@dataclass
class FakeAnalytics:
    """The analytics service's three figures routes, behind its bearer secret."""

    port: int = field(default_factory=free_port)
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: InLoopServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        def answer(body: Any) -> Any:
            async def route(request: Request) -> Response:
                if request.headers.get("authorization") != f"Bearer {ANALYTICS_SECRET}":
                    return JSONResponse({"error": {"code": "unauthenticated"}}, status_code=401)
                self.asked.append((request.url.path, dict(request.query_params)))
                if isinstance(body, str):
                    return PlainTextResponse(body, media_type="application/yaml")
                return JSONResponse(body)

            return route

        return Starlette(
            routes=[
                Route("/kpis", answer(KPIS)),
                Route("/failures", answer(CLUSTERS)),
                Route("/failures/nlu.yml", answer(DRAFT)),
            ]
        )

    async def start(self) -> FakeAnalytics:
        self.server = InLoopServer.for_app(self.app(), self.port)
        await self.server.start()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


@pytest.fixture
async def analytics() -> AsyncIterator[FakeAnalytics]:
    fake = await FakeAnalytics().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def desk(start_desk: DeskFactory, analytics: FakeAnalytics) -> RunningDesk:
    return await start_desk(analytics_url=analytics.url, analytics_service_secret=ANALYTICS_SECRET)


async def signed_in(desk: RunningDesk, username: str) -> httpx.AsyncClient:
    return (await desk.sign_in(username)).http


async def test_signing_in_from_the_page_brings_the_supervisor_back_to_it(desk: RunningDesk):
    browser = desk.client()
    page = await browser.get("/console/supervisor")
    assert page.status_code == 200
    assert 'name="next" value="/console/supervisor"' in page.text

    reply = await browser.post(
        "/console/login",
        data={"username": "lead", "password": DEMO_PASSWORD, "next": "/console/supervisor"},
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == "/console/supervisor"

    page = await browser.get("/console/supervisor", cookies=reply.cookies)
    assert page.status_code == 200
    assert "Service figures" in page.text
    assert "<script>" not in page.text
    plotly_src = page.text.split('<script src="')[1].split('"')[0]
    assert plotly_src.startswith("/console/vendor/plotly.min.js?v=")
    assert '<script src="/console/static/supervisor.js"></script>' in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]

    bundle = await browser.get(plotly_src)
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "plotly.js" in bundle.text[:500]
    assert (await browser.get("/console/static/supervisor.js")).status_code == 200


async def test_a_sign_in_never_leads_off_the_desk(desk: RunningDesk):
    reply = await desk.client().post(
        "/console/login",
        data={"username": "lead", "password": DEMO_PASSWORD, "next": "https://evil.example/"},
    )
    assert reply.headers["location"] == "/console"


async def test_an_agent_is_refused_the_page_and_its_figures(
    desk: RunningDesk, analytics: FakeAnalytics
):
    agent = await signed_in(desk, "agent")

    page = await agent.get("/console/supervisor")
    assert page.status_code == 403
    assert "for supervisors only" in page.text
    for path in ("/kpis", "/failures", "/failures/nlu.yml"):
        reply = await agent.get(f"/api/supervisor{path}")
        assert reply.status_code == 403
        assert reply.json()["error"]["code"] == "not_a_supervisor"
    # Nobody signed in: the API asks to sign in.
    assert (await desk.client().get("/api/supervisor/kpis")).status_code == 401
    assert analytics.asked == []
    # The agent's console has no way there; the supervisor's does.
    assert "Service figures" not in (await agent.get("/console")).text
    lead = await signed_in(desk, "lead")
    assert 'href="/console/supervisor"' in (await lead.get("/console")).text


async def test_the_figures_are_the_analytics_services_for_the_filters_asked(
    desk: RunningDesk, analytics: FakeAnalytics
):
    lead = await signed_in(desk, "lead")
    filters = {"start": "2026-11-01", "end": "2026-11-30", "line": "bank", "channel": "rest"}

    kpis = await lead.get("/api/supervisor/kpis", params=filters)
    failures = await lead.get("/api/supervisor/failures", params=filters)
    draft = await lead.get("/api/supervisor/failures/nlu.yml", params=filters)

    assert kpis.json() == KPIS
    assert failures.json() == CLUSTERS
    assert draft.text == DRAFT
    assert draft.headers["content-disposition"] == 'attachment; filename="draft-nlu.yml"'
    assert analytics.asked == [
        ("/kpis", filters),
        ("/failures", filters),
        ("/failures/nlu.yml", filters),
    ]


async def test_without_a_period_the_page_shows_the_last_thirty_days(
    desk: RunningDesk, analytics: FakeAnalytics
):
    lead = await signed_in(desk, "lead")
    await lead.get("/api/supervisor/kpis")
    today = utcnow().date()
    assert analytics.asked == [
        ("/kpis", {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()})
    ]
    page = await lead.get("/console/supervisor")
    assert f'name="start" value="{(today - timedelta(days=29)).isoformat()}"' in page.text


@pytest.mark.parametrize(
    "query",
    [
        {"line": "casino"},
        {"channel": "pigeon"},
        {"start": "2026-11-30", "end": "2026-11-01"},
        {"start": "yesterday"},
    ],
)
async def test_filters_the_page_does_not_offer_are_refused(
    desk: RunningDesk, analytics: FakeAnalytics, query: dict[str, str]
):
    lead = await signed_in(desk, "lead")
    reply = await lead.get("/api/supervisor/kpis", params=query)
    assert reply.status_code == 422
    assert analytics.asked == []


async def test_the_page_says_when_the_analytics_service_is_down_or_not_configured(
    start_desk: DeskFactory, analytics: FakeAnalytics
):
    await analytics.stop()
    down = await start_desk(analytics_url=analytics.url, analytics_service_secret=ANALYTICS_SECRET)
    reply = await (await signed_in(down, "lead")).get("/api/supervisor/kpis")
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "analytics_unavailable"

    unconfigured = await start_desk()
    reply = await (await signed_in(unconfigured, "lead")).get("/api/supervisor/kpis")
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "analytics_not_configured"


async def test_the_demo_supervisor_is_added_to_a_demo_desk_from_before_supervisors(
    start_desk: DeskFactory,
):
    desk = await start_desk()
    # As a demo database made before the supervisor: the lead is missing.
    async with desk.desk.db.writing() as session:
        await session.execute(delete(Agent).where(Agent.username == "lead"))
    await desk.stop()
    await desk.start()
    lead = await signed_in(desk, "lead")
    assert (await lead.get("/console/supervisor")).status_code == 200


def test_outside_the_demo_profile_a_weak_analytics_secret_stops_the_desk_and_none_is_no_page():
    deployment = {
        "DEPLOYMENT_PROFILE": "production",
        "DESK_SERVICE_SECRET": "a-real-desk-service-secret",
        "DESK_SESSION_SECRET": "a-real-desk-session-secret",
        "RASA_API_TOKEN": "a-real-rasa-api-token-value",
    }
    assert DeskSettings.from_environment(deployment).analytics_service_secret is None
    for weak in ("dev-only-analytics-service-secret", "short"):
        with pytest.raises(InsecureSetting, match="ANALYTICS_SERVICE_SECRET"):
            DeskSettings.from_environment({**deployment, "ANALYTICS_SERVICE_SECRET": weak})
