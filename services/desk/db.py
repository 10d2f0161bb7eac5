"""The desk's database: the sandbox's engine and units of work, over the desk's own tables."""

from __future__ import annotations

from services.desk.models import Base
from services.sandbox.db import Database


class DeskDatabase(Database):
    # The sandbox's Database creates the sandbox's tables; everything else (SQLite write
    # serialisation, sessions, PostgreSQL pool) is the same for the desk.
    async def create_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
