"""The one client for the analytics service's API (python -m analytics), with one error type.

The desk's supervisors' page reads the service's KPIs, the clusters of what the assistant
failed to serve and their draft NLU file through it; the action server reads a customer's past
questions, for the offers it makes when their chat opens. Every call carries the analytics service
secret; the caller passes the address, secret and timeout from its own settings object.
``KpiFilters`` is also the filter type of the service's own Python API (analytics.kpis), so a
filter means the same thing on both sides of the wire.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from clients.service_http import ServiceHttpClient

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_FCR_WINDOW_DAYS = 7


@dataclass(frozen=True)
class KpiFilters:
    """Which sessions a figure counts: started between ``start`` and ``end`` (UTC days, both
    included; None: no bound), about ``line``, on ``channel``, opened by ``intent``.
    ``fcr_window_days``: how long a customer must stay away for a resolution to count as
    first-contact."""

    start: date | None = None
    end: date | None = None
    line: str | None = None
    channel: str | None = None
    intent: str | None = None
    fcr_window_days: int = DEFAULT_FCR_WINDOW_DAYS

    def query(self) -> dict[str, str]:
        """The filters as the API's query parameters (unset ones left out)."""
        parameters = {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "line": self.line,
            "channel": self.channel,
            "intent": self.intent,
        }
        found = {name: value for name, value in parameters.items() if value}
        if self.fcr_window_days != DEFAULT_FCR_WINDOW_DAYS:
            found["fcr_window_days"] = str(self.fcr_window_days)
        return found


class AnalyticsError(Exception):
    """The service could not be reached (``status`` None) or did not accept the call; 503 from
    the failure endpoints means the clustering is not available in this deployment."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AnalyticsClient(ServiceHttpClient):
    default_timeout_seconds = DEFAULT_TIMEOUT_SECONDS

    async def _get(
        self, path: str, filters: KpiFilters, params: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            reply = await self._client().get(
                f"{self.base_url}{path}", params={**filters.query(), **(params or {})}
            )
        except httpx.HTTPError as error:
            raise AnalyticsError(f"analytics unreachable: {error!r}") from error
        if not reply.is_success:
            raise AnalyticsError(
                f"analytics answered {reply.status_code}: {reply.text[:200]}", reply.status_code
            )
        return reply

    async def kpis(self, filters: KpiFilters) -> dict[str, Any]:
        """The KPIs of the sessions ``filters`` selects (the shape of analytics.kpis)."""
        return dict((await self._get("/kpis", filters)).json())

    async def failures(self, filters: KpiFilters) -> dict[str, Any]:
        """``{"clusters": [{"label", "count", "outcomes", "examples"}, ...]}``, largest first."""
        return dict((await self._get("/failures", filters)).json())

    async def nlu_draft(self, filters: KpiFilters) -> str:
        """The clusters as a draft NLU training file (YAML) a designer edits."""
        return (await self._get("/failures/nlu.yml", filters)).text

    async def past_questions(self, customer_id: str, days: int) -> list[tuple[datetime, str]]:
        """(opened at, the request it opened with) of the customer's sessions of the last
        ``days`` days, oldest first; times in UTC without a zone, as the service stores them."""
        path = f"/customers/{urllib.parse.quote(customer_id, safe='')}/questions"
        found = (await self._get(path, KpiFilters(), {"days": str(days)})).json()
        return [
            (datetime.fromisoformat(item["opened_at"]), str(item["question"]))
            for item in found["questions"]
        ]
