"""The desk application: service API, agents' API and console, and the loops that keep the
desk and Rasa in step (outbox, reconciliation, agents' grace periods)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from clients.analytics import AnalyticsClient
from common.api_errors import install_error_handlers
from services.desk.agent_work import agents_holding_chats, hand_back
from services.desk.context import Desk
from services.desk.db import DeskDatabase
from services.desk.live import LiveHub
from services.desk.outbox import OutboxWorker
from services.desk.rasa_client import RasaClient
from services.desk.reconcile import Reconciler
from services.desk.routes import agent_api, console, service, supervisor
from services.desk.routes.supervisor import SUPERVISOR_PAGE
from services.desk.seed import seed_demo_agents
from services.desk.settings import DeskSettings
from services.sign_in_guard import SignInGuard
from services.web_security import install_web_security

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The CSP hash of an empty inline <style> (sha256 of no bytes).
EMPTY_STYLE_HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
SHUTDOWN_SECONDS = 5


def build_desk(settings: DeskSettings) -> Desk:
    db = DeskDatabase(settings.database_url)
    rasa = RasaClient(
        settings.rasa_url,
        settings.service_secret,
        settings.rasa_api_token,
        settings.rasa_timeout_seconds,
    )
    hub = LiveHub(settings.agent_grace_seconds)
    outbox = OutboxWorker(db, rasa, settings.outbox_max_backoff_seconds)
    analytics = (
        AnalyticsClient(
            settings.analytics_url,
            settings.analytics_service_secret,
            timeout_seconds=settings.analytics_timeout_seconds,
        )
        if settings.analytics_service_secret
        else None
    )
    desk = Desk(settings, db, hub, rasa, outbox, settings.hours(), analytics)
    hub.on_agent_gone = functools.partial(hand_back, desk)
    return desk


def create_app(settings: DeskSettings | None = None) -> FastAPI:
    settings = settings or DeskSettings.from_environment()
    desk = build_desk(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await desk.db.upgrade_schema()
        if settings.demo_password:
            await seed_demo_agents(desk.db, settings.demo_password)
        # Nobody is at the console right after a start: agents who had chats get the same
        # grace period as after a disconnect.
        for agent_id in await agents_holding_chats(desk):
            desk.hub.watch_absent(agent_id)
        reconciler = Reconciler(desk)
        loops = [asyncio.create_task(desk.outbox.run()), asyncio.create_task(reconciler.run())]
        try:
            yield
        finally:
            await desk.hub.close()
            desk.outbox.stop()
            reconciler.stop()
            # A slow Rasa call may hold a loop up; past that, it is cut short.
            _, late = await asyncio.wait(loops, timeout=SHUTDOWN_SECONDS)
            for loop in late:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
            await desk.rasa.close()
            if desk.analytics is not None:
                await desk.analytics.aclose()
            await desk.db.dispose()

    app = FastAPI(
        title="Agent desk",
        version="1.0.0",
        lifespan=lifespan,
        description="Human handoff: queues, routing, the agents' console, and the "
        "way back to the assistant. Service calls need `Authorization: Bearer "
        "<DESK_SERVICE_SECRET>`; agents' calls the console's session cookie.",
    )
    app.state.desk = desk
    app.state.sign_in_guard = SignInGuard.create(
        "desk",
        settings.rate_limit_redis_url,
        settings.sign_in_name_limit,
        settings.sign_in_address_limit,
        settings.sign_in_window_seconds,
    )
    install_error_handlers(app)
    app.include_router(service.router)
    app.include_router(agent_api.router)
    app.include_router(console.router)
    app.include_router(supervisor.router)
    app.include_router(supervisor.api)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.get("/health", tags=["service"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    def content_security_policy(request: Request) -> str:
        # No inline script can run, whatever text slipped into a page.
        host = request.headers.get("host", "")
        styles = "'self'"
        if request.url.path == SUPERVISOR_PAGE:
            # plotly.js adds its rules to an empty <style> of its own through the CSSOM; the
            # hash admits an empty one only, so no inline CSS from a page's text can apply.
            styles += f" '{EMPTY_STYLE_HASH}'"
        return (
            f"default-src 'self'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
            f"connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'"
        )

    install_web_security(app, settings.allowed_origins, content_security_policy)
    return app
