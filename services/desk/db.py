"""The desk's database: the shared engine and units of work (common/database.py), over the
desk's own tables."""

from __future__ import annotations

from common.database import Database
from services.desk.migrations import upgrade_to_head


class DeskDatabase(Database):
    async def upgrade_schema(self) -> None:
        """Brings the tables to the newest migration: a deployment keeps the desk's database."""
        await upgrade_to_head(self.engine)
