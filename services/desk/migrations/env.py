"""Alembic's entry point for the desk's schema.

Run by the desk at start (services.desk.migrations.upgrade_to_head hands in its own
connection) and by `alembic -c services/desk/alembic.ini ...` from the command line, which
connects with DESK_DATABASE_URL. The desk's URLs name async drivers (aiosqlite, asyncpg), so
the command line opens an async engine and runs the migrations through its sync facade.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.desk.models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_async_engine(url, future=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DESK_DATABASE_URL")
    if not url:
        # No guess: migrating the wrong database is worse than stopping here.
        raise SystemExit("Set DESK_DATABASE_URL to the desk's database, as for the desk itself.")
    return url


given = context.config.attributes.get("connection")
if given is not None:
    # Inside the desk: its logging is already configured and stays as it is.
    run_with(given)
else:
    if context.config.config_file_name is not None:
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        run_offline(database_url())
    else:
        asyncio.run(run_from_url(database_url()))
