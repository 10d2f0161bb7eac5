"""The sandbox's database: the shared engine and units of work over the sandbox's tables."""

from __future__ import annotations

from common.database import Database
from services.sandbox.models import Base


class SandboxDatabase(Database):
    async def create_all(self) -> None:
        # A stand-in keeps no data worth migrating: its tables are made as the models say.
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
