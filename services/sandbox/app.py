"""The sandbox application: product routers, sandbox controls, fault injection, error shape."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

from fastapi import FastAPI

from common.api_errors import install_error_handlers
from services.sandbox.config import Settings
from services.sandbox.db import SandboxDatabase
from services.sandbox.events import EventMaker
from services.sandbox.faults import FaultInjectionMiddleware, FaultInjector, rules_from_json
from services.sandbox.outbox import OutboxPublisher
from services.sandbox.routes import (
    bank,
    credit,
    customers,
    insurance,
    international,
    payments,
    sandbox,
    score,
    security,
    verification,
    wealth,
)
from services.sandbox.seed import seed_if_empty

PRODUCT_ROUTERS = (
    customers.router,
    verification.router,
    payments.router,
    bank.router,
    credit.router,
    insurance.router,
    wealth.router,
    score.router,
    international.router,
    security.router,
)

DESCRIPTION = """
Stand-in for the product back ends. Every product call needs
`Authorization: Bearer <service secret>` and `X-Customer-Id` (the customer bound to the
conversation). Resources of other customers answer 404.
Money moves only with `Idempotency-Key` and a step-up `X-Verification-Token`.
`/sandbox/*` endpoints exist only in the sandbox.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_environment()
    db = SandboxDatabase(settings.database_url)
    injector = FaultInjector(settings.seed, rules_from_json(settings.faults))
    # Unset in the embedded profile: there the outbox table itself is the queue.
    publisher = OutboxPublisher(db, settings.events_amqp_url) if settings.events_amqp_url else None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await db.create_all()
        if settings.seed_if_empty:
            await seed_if_empty(db, customers=settings.customers, seed=settings.seed)
        publishing = asyncio.create_task(publisher.run()) if publisher else None
        yield
        if publishing is not None:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing
        await db.dispose()

    app = FastAPI(
        title="Product back-end sandbox",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.faults = injector
    # Seeded like the rest of the sandbox: a fresh sandbox draws the same merchants and amounts.
    app.state.events = EventMaker(random.Random(settings.seed))
    app.state.outbox_publisher = publisher
    install_error_handlers(app)
    for router in PRODUCT_ROUTERS:
        app.include_router(router)
    app.include_router(sandbox.router)
    if settings.device_inbox:
        app.include_router(sandbox.device_router)

    @app.get("/healthz", tags=["sandbox-only"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(FaultInjectionMiddleware, injector=injector)
    return app
