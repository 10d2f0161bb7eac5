"""The analytics service: consumes the configured event broker continuously and answers the
KPIs and the failure clusters over HTTP. Every call but /health needs
``Authorization: Bearer <ANALYTICS_SERVICE_SECRET>``.

    GET /kpis?start=YYYY-MM-DD&end=YYYY-MM-DD&line=&channel=&intent=&fcr_window_days=
    GET /failures?start&end&line&channel&limit     -> {"clusters": [...]}
    GET /failures/nlu.yml?...                      -> a draft NLU file (YAML)
    GET /customers/{customer_id}/questions?days=90 -> {"questions": [{"opened_at", "question"}]}
    GET /health
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from analytics.customers import past_questions
from analytics.ingest import (
    Ingestor,
    PikaConsumer,
    SqlBrokerReader,
    catalogue_lines,
    open_service_store,
)
from analytics.kpis import KpiFilters, compute_kpis, failed_messages
from analytics.settings import AnalyticsSettings
from common.api_errors import ApiError, install_error_handlers
from common.clock import utcnow

logger = logging.getLogger(__name__)

DEFAULT_CLUSTERS = 20
# How far back a customer's past questions are read unless asked otherwise: as far as the
# proactive model learnt to weigh them (proactive/live.py).
DEFAULT_QUESTION_DAYS = 90
# Sweeps for sessions whose sender went silent, between reads of the broker.
IDLE_SWEEP_SECONDS = 60
RETRY_SECONDS = 5
BROKER_CONNECT_SECONDS = 10

bearer_scheme = HTTPBearer(
    auto_error=False, description="The analytics service secret (ANALYTICS_SERVICE_SECRET)"
)


async def require_service(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    expected = request.app.state.settings.service_secret.encode()
    presented = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(presented, expected):
        raise ApiError(401, "unauthenticated", "missing or wrong service credentials")


def filters_from_query(
    start: date | None = None,
    end: date | None = None,
    line: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    intent: Annotated[str | None, Query(max_length=128)] = None,
    fcr_window_days: Annotated[int, Query(ge=0, le=365)] = 7,
) -> KpiFilters:
    return KpiFilters(start, end, line or None, channel or None, intent or None, fcr_window_days)


Filters = Annotated[KpiFilters, Depends(filters_from_query)]


class Consumer:
    """Reads the broker until stopped: a batch at a time, waiting when there is nothing new,
    trying again after an error (a broker or database that is restarting)."""

    def __init__(self, settings: AnalyticsSettings, ingestor: Ingestor) -> None:
        self._settings = settings
        self._ingestor = ingestor
        self._stopped = asyncio.Event()
        if settings.broker_type == "pika":
            self._pika: PikaConsumer | None = PikaConsumer(
                settings.broker_url, ingestor, queue=settings.queue, batch_size=settings.batch_size
            )
            self._sql: SqlBrokerReader | None = None
        else:
            self._pika = None
            self._sql = SqlBrokerReader(settings.broker_url, ingestor, settings.batch_size)

    async def prepare(self) -> None:
        """Declares the service's queue before the service says it is up, so events Rasa
        publishes from then on wait for it; a broker still starting is tried again by run."""
        if self._pika is None:
            return
        try:
            await asyncio.wait_for(self._pika.ready_queue(), BROKER_CONNECT_SECONDS)
        except Exception as error:  # aio_pika raises assorted types; run tries again
            logger.warning("the event broker cannot be reached yet (%s)", type(error).__name__)

    async def read_once(self) -> int:
        if self._pika is not None:
            return await self._pika.read_once()
        assert self._sql is not None
        return await asyncio.to_thread(self._sql.read_once)

    async def run(self) -> None:
        """Reads until ``stop``; closes the broker's connection on the way out."""
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        try:
            while not self._stopped.is_set():
                try:
                    read = await self.read_once()
                    if loop.time() >= next_sweep:
                        await asyncio.to_thread(self._ingestor.close_idle_sessions)
                        next_sweep = loop.time() + IDLE_SWEEP_SECONDS
                except Exception as error:  # the broker or the database is away: try again
                    # The type only: a database error's text carries the rows' parameters.
                    logger.warning(
                        "reading the event broker failed (%s); trying again in %s s",
                        type(error).__name__,
                        RETRY_SECONDS,
                    )
                    read, wait = 0, RETRY_SECONDS
                else:
                    wait = self._settings.poll_seconds
                if not read:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopped.wait(), wait)
        finally:
            if self._pika is not None:
                await self._pika.close()
            if self._sql is not None:
                self._sql.close()

    def stop(self) -> None:
        """Asks ``run`` to finish after the batch it is reading."""
        self._stopped.set()


def create_app(
    settings: AnalyticsSettings, *, engine: Engine | None = None, consume: bool = True
) -> FastAPI:
    """The service; ``consume=False`` serves the API over the database without reading the
    broker (tests that fill the database themselves)."""
    idle_seconds = settings.session_idle_minutes * 60
    engine = engine or open_service_store(
        settings.database_url, catalogue_lines(), idle_seconds=idle_seconds
    )
    ingestor = Ingestor(engine, catalogue_lines(), idle_seconds=idle_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        consumer = Consumer(settings, ingestor) if consume else None
        if consumer is not None:
            await consumer.prepare()
        task = asyncio.create_task(consumer.run()) if consumer else None
        try:
            yield
        finally:
            if consumer is not None and task is not None:
                consumer.stop()
                await task
            engine.dispose()

    app = FastAPI(
        title="Analytics",
        version="1.0.0",
        lifespan=lifespan,
        description="The service's KPIs and what it failed to serve, from Rasa's events. "
        "Calls need `Authorization: Bearer <ANALYTICS_SERVICE_SECRET>`.",
    )
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    guarded = [Depends(require_service)]

    @app.get("/health", tags=["service"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/kpis", dependencies=guarded, summary="The KPIs of the selected sessions")
    def kpis(filters: Filters) -> dict[str, Any]:
        with engine.connect() as connection:
            return compute_kpis(connection, filters)

    @app.get("/failures", dependencies=guarded, summary="What the assistant failed to serve")
    def failures(
        filters: Filters, limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_CLUSTERS
    ) -> dict[str, Any]:
        return {"clusters": _clusters(engine, filters, limit)}

    @app.get(
        "/failures/nlu.yml",
        dependencies=guarded,
        response_class=PlainTextResponse,
        summary="The failure clusters as a draft NLU file",
    )
    def nlu_draft(
        filters: Filters, limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_CLUSTERS
    ) -> PlainTextResponse:
        draft = _failures_module().draft_nlu(_clusters(engine, filters, limit))
        return PlainTextResponse(draft, media_type="application/yaml")

    @app.get(
        "/customers/{customer_id}/questions",
        dependencies=guarded,
        summary="The requests a customer's past sessions opened with",
    )
    def customer_questions(
        customer_id: Annotated[str, Path(max_length=64)],
        days: Annotated[int, Query(ge=1, le=365)] = DEFAULT_QUESTION_DAYS,
    ) -> dict[str, Any]:
        since = utcnow() - timedelta(days=days)
        with engine.connect() as connection:
            return {"questions": past_questions(connection, customer_id, since)}

    return app


def _failures_module() -> Any:
    """analytics.failures, loaded when first asked: it brings the NLU's sentence encoder."""
    try:
        return importlib.import_module("analytics.failures")
    except ImportError as error:
        logger.warning("failure clusters unavailable: %r", error)
        raise ApiError(
            503, "unavailable", "the failure clusters are not available in this deployment"
        ) from error


def _clusters(engine: Engine, filters: KpiFilters, limit: int) -> list[dict[str, Any]]:
    failures = _failures_module()
    with engine.connect() as connection:
        found = failed_messages(connection, filters)
    return list(failures.failure_clusters(found, limit))
