"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout on every
connection; any other URL (``postgresql+asyncpg://``) is used as given.

A SQLite file is opened with :mod:`storage.sqlite_inline` (queries run on the event loop's
thread, lock waits are awaited) rather than through aiosqlite's worker thread, whose hand-overs
cost more than the queries; ``create_engine(url, inline_sqlite=False)`` uses aiosqlite.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_inline

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bookbot.db"
SQLITE_BUSY_TIMEOUT_MS = 5000


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; NORMAL sync is durable across a process
    # crash in WAL mode (only an OS crash can lose the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(url: str, *, inline_sqlite: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``, with the SQLite connection settings applied."""
    parsed = make_url(url)
    if (
        inline_sqlite
        and parsed.drivername == "sqlite+aiosqlite"
        and parsed.database not in (None, "", ":memory:")
        and not parsed.query
        and not {"creator", "async_creator", "connect_args"} & kwargs.keys()
    ):
        kwargs["async_creator"] = sqlite_inline.connector(str(parsed.database))
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
