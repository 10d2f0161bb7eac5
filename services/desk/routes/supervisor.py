"""The supervisors' page and the figures behind it, read from the analytics service.

Only supervisors see them: an agent signed in without the role gets 403, nobody signed in the
sign-in form (the page) or 401 (the API).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from clients.analytics import AnalyticsClient, AnalyticsError, KpiFilters
from common.api_errors import ApiError
from common.clock import utcnow
from services.desk.auth import current_agent, desk_of, signed_in_agent
from services.desk.models import Agent
from services.desk.pages import login_page, refusal_page
from services.desk.supervisor_page import (
    CHANNELS,
    PLOTLY_PATH,
    PRODUCT_LINES,
    default_filters,
    desk_page,
    plotly_bundle,
)

SUPERVISOR_PAGE = "/console/supervisor"

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/supervisor", tags=["supervisors"])


def filters_of(
    start: date | None = None,
    end: date | None = None,
    line: Annotated[str | None, Query(max_length=32)] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> KpiFilters:
    """The period, line and channel asked for; the last 30 days (UTC days, as the analytics
    store counts them) when no period is given."""
    if line and line not in PRODUCT_LINES:
        raise ApiError(422, "invalid_request", f"unknown product line {line!r}")
    if channel and channel not in CHANNELS:
        raise ApiError(422, "invalid_request", f"unknown channel {channel!r}")
    defaults = default_filters(utcnow().date(), line or None, channel or None)
    filters = KpiFilters(
        start=start or (None if end else defaults.start),
        end=end or (None if start else defaults.end),
        line=defaults.line,
        channel=defaults.channel,
    )
    if filters.start and filters.end and filters.start > filters.end:
        raise ApiError(422, "invalid_request", "the period ends before it starts")
    return filters


Filters = Annotated[KpiFilters, Depends(filters_of)]


async def current_supervisor(request: Request) -> Agent:
    agent = await current_agent(request)
    if not agent.supervisor:
        raise ApiError(403, "not_a_supervisor", "only supervisors see the service's figures")
    return agent


Supervisor = Annotated[Agent, Depends(current_supervisor)]


def _analytics(request: Request) -> AnalyticsClient:
    client = desk_of(request).analytics
    if client is None:
        raise ApiError(
            503,
            "analytics_not_configured",
            "the desk has no ANALYTICS_SERVICE_SECRET, so it cannot read the service's figures",
        )
    return client


def _unavailable(error: AnalyticsError) -> ApiError:
    if error.status == 503:
        return ApiError(503, "clustering_unavailable", "the failure clusters are not available")
    # The service's own text stays in the desk's log: it may name hosts or SQL.
    return ApiError(502, "analytics_unavailable", "the analytics service did not answer")


@api.get("/kpis", summary="The service's KPIs for a period, line and channel")
async def kpis(request: Request, _: Supervisor, filters: Filters) -> dict[str, Any]:
    try:
        return await _analytics(request).kpis(filters)
    except AnalyticsError as error:
        raise _unavailable(error) from error


@api.get("/failures", summary="What the assistant failed to serve, grouped by meaning")
async def failures(request: Request, _: Supervisor, filters: Filters) -> dict[str, Any]:
    try:
        return await _analytics(request).failures(filters)
    except AnalyticsError as error:
        raise _unavailable(error) from error


@api.get("/failures/nlu.yml", summary="The failure clusters as a draft NLU file")
async def nlu_draft(request: Request, _: Supervisor, filters: Filters) -> Response:
    try:
        text = await _analytics(request).nlu_draft(filters)
    except AnalyticsError as error:
        raise _unavailable(error) from error
    return PlainTextResponse(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="draft-nlu.yml"'},
    )


@router.get(SUPERVISOR_PAGE)
async def supervisor_page(request: Request, filters: Filters) -> HTMLResponse:
    agent = await signed_in_agent(request)
    if agent is None:
        demo = desk_of(request).settings.demo_password is not None
        return HTMLResponse(login_page(demo_agents=demo, next_page=SUPERVISOR_PAGE))
    if not agent.supervisor:
        return HTMLResponse(
            refusal_page("The service's figures are for supervisors only."), status_code=403
        )
    return HTMLResponse(desk_page(filters, agent.display_name))


@router.get(PLOTLY_PATH)
async def plotly_js() -> Response:
    # The URL carries plotly.js's version, so a browser may keep it as long as it likes.
    _, bundle = plotly_bundle()
    return Response(
        bundle,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
