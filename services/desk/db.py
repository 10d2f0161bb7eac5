"""The desk's database: the sandbox's engine and units of work, over the desk's own tables."""

from __future__ import annotations

from services.desk.migrations import upgrade_to_head
from services.sandbox.db import Database


class DeskDatabase(Database):
    # The sandbox's Database creates the sandbox's tables; everything else (SQLite write
    # serialisation, sessions, PostgreSQL pool) is the same for the desk.
    async def upgrade_schema(self) -> None:
        """Brings the tables to the newest migration: a deployment keeps the desk's database."""
        await upgrade_to_head(self.engine)
