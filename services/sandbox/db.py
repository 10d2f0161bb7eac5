"""The sandbox's database: the shared engine and units of work over the sandbox's tables."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from common.database import Database
from services.sandbox.models import Base


def lacks_a_column(connection: Connection) -> bool:
    """Whether a table was made by an older model, without a column the models now have."""
    existing = inspect(connection)
    for table in Base.metadata.sorted_tables:
        if existing.has_table(table.name):
            columns = {column["name"] for column in existing.get_columns(table.name)}
            if set(table.columns.keys()) - columns:
                return True
    return False


class SandboxDatabase(Database):
    async def create_all(self) -> None:
        # A stand-in keeps no data worth migrating: its tables are made as the models say,
        # and tables of an older model are made again (and seeded again, when seeding).
        async with self.engine.begin() as conn:
            if await conn.run_sync(lacks_a_column):
                await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
