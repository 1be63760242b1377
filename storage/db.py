"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout on every
connection; any other URL (``postgresql+asyncpg://``) is used as given.

A SQLite file is opened with :mod:`storage.sqlite_inline` (queries run on the event loop's
thread, lock waits are awaited) rather than through aiosqlite's worker thread, whose hand-overs
cost more than the queries; ``create_engine(url, inline_sqlite=False)`` uses aiosqlite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import jsontext, sqlite_inline

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bookbot.db"
SQLITE_BUSY_TIMEOUT_MS = 5000

T = TypeVar("T")
#: The INSERT of each database we run on: both have ``on_conflict_do_nothing`` and
#: ``on_conflict_do_update``, which the generic INSERT lacks.
DIALECT_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def by_dialect(build: Callable[[Callable[..., Any]], T]) -> dict[str, T]:
    """A statement built once per dialect from that dialect's INSERT, keyed by dialect name
    (``connection.dialect.name``): built at import, so SQLAlchemy's cache of compiled
    statements serves every later use."""
    return {name: build(insert) for name, insert in DIALECT_INSERTS.items()}


def configure_sqlite(dbapi_connection: Any, _record: Any = None) -> None:
    """The pragmas every SQLite connection of ours gets."""
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; NORMAL sync is durable across a process
    # crash in WAL mode (only an OS crash can lose the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite+aiosqlite`` file URL (no driver options), else ``None``:
    the databases the in-loop driver serves."""
    parsed = make_url(url)
    if (
        parsed.drivername != "sqlite+aiosqlite"
        or parsed.database in (None, "", ":memory:")
        or parsed.query
    ):
        return None
    return str(parsed.database)


def create_engine(url: str, *, inline_sqlite: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``, with the SQLite connection settings applied."""
    parsed = make_url(url)
    path = sqlite_file(url)
    if (
        inline_sqlite
        and path is not None
        and not {"creator", "async_creator", "connect_args"} & kwargs.keys()
    ):
        kwargs["async_creator"] = sqlite_inline.connector(path)
    # orjson, several times faster than the standard library (storage.jsontext).
    kwargs.setdefault("json_serializer", jsontext.dumps)
    kwargs.setdefault("json_deserializer", jsontext.loads)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", configure_sqlite)
    return engine


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for work of one statement at a time (a read, a turn's lone state write),
    which needs no transaction around it: on PostgreSQL the same pool in autocommit mode, which
    spares the BEGIN and COMMIT (or ROLLBACK) round trips; a SQLite engine is returned as it is
    (its driver opens no transaction for a read, and a lone write costs the same either way).
    Use it with ``begin()`` for a write, so that it commits on SQLite."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.connect()`` for a block outside any explicit transaction (a read, or one
    statement committed in the block) on an :func:`autocommit` engine, closed in the caller's
    task.

    ``async with engine.connect()`` closes the connection in a task of its own behind
    ``asyncio.shield`` (so that a cancellation cannot cut a close that waits on the database
    short): two more turns of the event loop per block, about a tenth of a bot update's storage
    cost. Such a close does not wait here: the in-loop SQLite driver never suspends while
    closing, and on PostgreSQL in autocommit mode there is no transaction for the close to roll
    back, so returning the connection to the pool awaits nothing and a cancellation has nowhere
    to land. (A connection beyond the pool's size is closed instead of kept, which does wait
    for asyncpg; a cancellation landing there interrupts that close, which SQLAlchemy handles
    as any failed close: the connection is discarded, not returned.) Use
    ``engine.begin()`` for a transaction (its COMMIT or ROLLBACK does wait on PostgreSQL).
    """
    opened = await engine.connect()
    try:
        yield opened
    finally:
        await opened.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
