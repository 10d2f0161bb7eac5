"""A service's database: async engine and units of work; SQLite (aiosqlite) by default,
PostgreSQL (asyncpg) by URL. Each service subclasses it for its own tables (the sandbox creates
them, the desk migrates them)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker


class Database:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        engine_options: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine_options["connect_args"] = {"timeout": 30}
        else:
            engine_options.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time and upgrades read locks badly under contention;
        # serialising write units in-process is simpler and safer than retrying SQLITE_BUSY.
        self._sqlite_write_lock = asyncio.Lock() if self.is_sqlite else None

    async def dispose(self) -> None:
        await self.engine.dispose()

    def session(self) -> AsyncSession:
        return self._sessions()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """One transaction; commits on success, rolls back on any exception."""
        async with self.write_serialised():
            async with self._sessions() as session, session.begin():
                yield session

    @contextlib.asynccontextmanager
    async def write_serialised(self) -> AsyncIterator[None]:
        if self._sqlite_write_lock is None:
            yield
            return
        async with self._sqlite_write_lock:
            yield


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
