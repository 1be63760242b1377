"""SQLite for SQLAlchemy's ``sqlite+aiosqlite`` dialect without aiosqlite's thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit, rollback) in a worker thread and
hands the result back to the event loop: two thread wake-ups and a GIL hand-over per call, about
40 per bot update, which cost far more than the SQLite work itself (see docs/performance.md). A
query on a local SQLite file takes microseconds, so this driver runs it directly on the event
loop's thread, behind the same async interface aiosqlite offers, and SQLAlchemy's dialect is used
unchanged (``create_async_engine(url, async_creator=...)``, see :mod:`storage.db`).

The one thing that could block the loop for long is waiting for another connection's write lock
(SQLite's busy handler sleeps). So the first write of a transaction — the statement that takes
the lock — runs with SQLite's busy handler off; if the database is busy, the driver waits with
``asyncio.sleep`` (other coroutines, including the lock holder in this process, go on) and tries
again, until the connection's busy timeout (``PRAGMA busy_timeout``) has passed, then raises
SQLite's own "database is locked" error. Retrying is what SQLite's busy handler does too: the
statement failed before changing anything, and as the first write of its transaction it holds no
read snapshot that could have gone stale. Every other statement (reads, later writes, which
already hold the lock, ``COMMIT`` in WAL mode) runs with the busy timeout as configured.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

#: sqlite3 error code of a plain "database is locked" (not BUSY_SNAPSHOT and the like)
SQLITE_BUSY = 5
_FIRST_WORD = re.compile(r"\s*(\w+)")
#: Statements that take the write lock (and for which pysqlite opens the transaction itself).
_LOCKING = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "BEGIN"})
_BUSY_TIMEOUT = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$", re.IGNORECASE)
#: First pause after a busy answer; doubles up to _MAX_PAUSE.
_FIRST_PAUSE = 0.001
_MAX_PAUSE = 0.05


@lru_cache(maxsize=512)
def _classify(sql: str) -> tuple[str, int | None]:
    """The first word of ``sql`` in capitals, and the busy timeout it sets (a
    ``PRAGMA busy_timeout=N``), else ``None``. Cached by text: SQLAlchemy sends the same few
    compiled strings over and over, so each is parsed once instead of on every call."""
    first = _FIRST_WORD.match(sql)
    word = first.group(1).upper() if first else ""
    match = _BUSY_TIMEOUT.match(sql) if word == "PRAGMA" else None
    return word, int(match.group(1)) if match else None


class _Immediate:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's adapter uses directly to
    set the isolation level: the function runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(error)


class Cursor:
    """aiosqlite's ``Cursor`` interface over a ``sqlite3.Cursor``, run on the caller's thread."""

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await self._connection._run(sql, self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        await self._connection._run(sql, self._cursor.executemany, sql, list(parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class Connection:
    """aiosqlite's ``Connection`` interface over a ``sqlite3.Connection``, without a thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Immediate()
        self._pragma_cursor = connection.cursor()
        self._busy_timeout_ms = 0
        self._restore_busy_timeout = ""
        self._set_busy_timeout(int(connection.execute("PRAGMA busy_timeout").fetchone()[0]))
        #: whether the open transaction has written (and so holds the write lock)
        self._has_written = False

    @property
    def raw(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection itself, for reads that never wait for a lock (WAL)."""
        return self._conn

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    async def _run(self, sql: str, call: Callable[..., Any], *args: Any) -> Any:
        connection = self._conn
        word, busy_timeout_ms = _classify(sql)
        if busy_timeout_ms is not None:
            self._set_busy_timeout(busy_timeout_ms)
        if not connection.in_transaction:
            self._has_written = False
        if word not in _LOCKING or self._has_written or self._busy_timeout_ms <= 0:
            return call(*args)
        # The first write of a transaction, including one that a SAVEPOINT opened (SQLAlchemy's
        # begin_nested): it takes the write lock, and may have to wait for it.
        result = await self._run_locking(connection, call, *args)
        # A write holds the lock until the transaction ends. After a BEGIN (perhaps a deferred
        # one, which takes no lock) the next write still counts as the first.
        self._has_written = connection.in_transaction and word != "BEGIN"
        return result

    def _set_busy_timeout(self, milliseconds: int) -> None:
        self._busy_timeout_ms = milliseconds
        # Built once per value: the two PRAGMAs around every first write reuse one cursor and
        # these strings (sqlite3 caches the prepared statement by its text).
        self._restore_busy_timeout = f"PRAGMA busy_timeout={milliseconds}"

    async def _run_locking(
        self, connection: sqlite3.Connection, call: Callable[..., Any], *args: Any
    ) -> Any:
        """The first write of a transaction: wait for the write lock without blocking the loop."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        pause = _FIRST_PAUSE
        pragma = self._pragma_cursor
        while True:
            pragma.execute("PRAGMA busy_timeout=0")
            try:
                return call(*args)
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorcode", None) != SQLITE_BUSY:
                    raise
                if time.monotonic() + pause > deadline:
                    raise
            finally:
                pragma.execute(self._restore_busy_timeout)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

    # -- aiosqlite's interface ----------------------------------------------------------------
    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's ``terminate``)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], deterministic: bool = False
    ) -> None:
        self._conn.create_function(name, num_params, func, deterministic=deterministic)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes


def connector(database: str, **kwargs: Any) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: opens ``database`` (a file path)."""

    async def connect() -> Connection:
        # check_same_thread=False: the pool may close a connection from the thread that runs
        # the garbage collector or Alembic's own event loop; every query runs on one loop.
        return Connection(sqlite3.connect(database, check_same_thread=False, **kwargs))

    return connect


__all__: Sequence[str] = ("Connection", "Cursor", "connector")
