"""The desk's schema migrations (Alembic), applied by the desk at start.

A deployment keeps its desk database and upgrades it with the code: every change to
services/desk/models.py comes with a revision in versions/ (see alembic.ini beside the desk
for the commands), and tests/desk/test_migrations.py checks that the revisions build exactly
the schema the models describe.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.desk.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = MIGRATIONS_DIR.parent / "alembic.ini"
# The revision that describes the schema the desk made with create_all before migrations.
BASELINE_REVISION = "0001"


def alembic_config() -> Config:
    config = Config(str(ALEMBIC_INI))
    return config


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if current_revision(connection) is None and inspect(connection).has_table("handoffs"):
        # A database the desk made with create_all before it had migrations: complete it
        # the same way (an older one may lack a table added since), then record it as the
        # baseline so that later revisions apply on top.
        Base.metadata.create_all(connection)
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Brings the desk's database to the newest revision; a new database is created whole."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
