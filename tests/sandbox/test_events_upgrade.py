"""A sandbox database kept from before the notification preferences and the outbox (the
embedded profile keeps `.data/sandbox.db` across runs) is made and seeded again at start: the
profile shows the preferences and the outbox starts empty."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from services.sandbox.config import Settings
from services.sandbox.db import SandboxDatabase
from services.sandbox.seed import seed_if_empty
from services.sandbox.thread_server import SandboxThread
from tests.sandbox.conftest import SERVICE_SECRET, RunningSandbox


def an_older_database(path: Path) -> None:
    """Today's tables and seed, less what this change added."""

    async def make() -> None:
        db = SandboxDatabase(f"sqlite+aiosqlite:///{path}")
        await db.create_all()
        await seed_if_empty(db, customers=5, seed=7)
        await db.dispose()

    asyncio.run(make())
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE event_outbox"))
        for column in ("notify_consent", "quiet_hours_start", "quiet_hours_end"):
            conn.execute(text(f"ALTER TABLE customers DROP COLUMN {column}"))
        conn.execute(text("ALTER TABLE wallet_transactions DROP COLUMN risk_flag"))
        # A mark the older sandbox's data carries, gone once it is made again.
        conn.execute(text("UPDATE customers SET full_name = 'Old Model'"))
    engine.dispose()


def test_an_older_database_is_made_again_with_preferences_and_an_empty_outbox(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox.db"
    an_older_database(path)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        service_secret=SERVICE_SECRET,
        customers=12,
        seed=7,
    )
    server = SandboxThread(settings).start()
    sandbox = RunningSandbox("sqlite", server.base_url, f"sqlite:///{path}")
    try:
        with sandbox.client("C00011") as http:
            profile = http.get("/v1/customers/me").json()
        assert profile["name"] != "Old Model"
        assert profile["notifications"]["consent"] in (True, False)
        assert sandbox.scalar("SELECT COUNT(*) FROM customers") == 12
        assert "event_outbox" in inspect(sandbox.engine).get_table_names()
        assert sandbox.scalar("SELECT COUNT(*) FROM event_outbox") == 0
        assert sandbox.scalar("SELECT COUNT(*) FROM customer_events") > 0
    finally:
        sandbox.close()
        server.stop()
