"""A fast lane to a SQLite database for the few statements every bot update runs.

Opening an SQLAlchemy session costs about 100 µs here, and each statement through it about
100 µs more, where SQLite itself needs 10-20 µs (measured in docs/performance.md). Every update
reads and writes its conversation, and the local calendar reads its claimed time blocks on
every calendar screen, so that machinery alone used to cost more than all the rest of an update.

:class:`FastLane` keeps a few SQLite connections of its own, opened like the engine's (WAL,
``synchronous=NORMAL``, foreign keys, busy timeout, see :mod:`storage.db`) and driven through
:mod:`storage.sqlite_inline`, so waiting for another writer's lock still never blocks the event
loop. Callers give it hand-written SQL with ``?`` parameters.

Only a SQLite file gets a fast lane (:meth:`FastLane.for_url` answers ``None`` for anything
else): the callers keep their SQLAlchemy path, which PostgreSQL uses, and the tests run both.
Values cross in SQLAlchemy's own storage formats (:func:`to_db_datetime`, JSON text), so a row
written by one path reads the same through the other.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import Any

from storage import jsontext, sqlite_inline
from storage.db import configure_sqlite, sqlite_file

#: Connections kept open; more concurrent users wait for one to come back.
DEFAULT_MAX_CONNECTIONS = 4
#: SQLite page cache per fast-lane connection, in KiB (at most this much each).
PAGE_CACHE_KIB = 32 * 1024


def to_db_datetime(value: datetime) -> str:
    """An aware datetime as SQLAlchemy stores a ``UTCDateTime`` in SQLite: UTC, no offset,
    microseconds always written. Text comparisons in SQL depend on this exact shape."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_db_datetime(value: str | None) -> datetime | None:
    """The aware UTC datetime of a stored ``UTCDateTime`` value."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def to_db_json(value: Any) -> str:
    """JSON text as our SQLAlchemy engine writes its ``JSON`` columns (:mod:`storage.jsontext`)."""
    return jsontext.dumps(value)


def from_db_json(value: str | None) -> Any:
    return None if value is None else jsontext.loads(value)


class FastLane:
    """Hand-written SQL on a small pool of this process's own SQLite connections."""

    def __init__(self, path: str, *, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self.path = path
        self._idle: list[sqlite_inline.Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._closed = False

    @classmethod
    def for_url(cls, url: str) -> FastLane | None:
        """A fast lane for a ``sqlite+aiosqlite`` file URL, ``None`` for any other database
        (PostgreSQL, in-memory SQLite, URLs with driver options)."""
        path = sqlite_file(url)
        return None if path is None else cls(path)

    def _open(self) -> sqlite_inline.Connection:
        raw = sqlite3.connect(self.path, check_same_thread=False)
        configure_sqlite(raw)
        # A bigger page cache than SQLite's 2 MB default: the conversation index of a busy bot
        # (100,000 stored conversations) then stays in this connection's memory.
        raw.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        return sqlite_inline.Connection(raw)

    def connection(self) -> _Lease:
        """A connection for this caller alone until the ``async with`` block ends. A
        transaction left open (an exception before commit) is rolled back before anyone else
        gets it."""
        return _Lease(self, commit=False)

    def transaction(self) -> _Lease:
        """A connection whose writes commit when the ``async with`` block ends (and roll back
        on error). The write lock is taken by the first write, as in SQLAlchemy's default."""
        return _Lease(self, commit=True)

    async def _take(self) -> sqlite_inline.Connection:
        if self._closed:
            raise RuntimeError("this fast lane is closed")
        await self._slots.acquire()
        try:
            return self._idle.pop() if self._idle else self._open()
        except BaseException:
            self._slots.release()
            raise

    def _give_back(self, connection: sqlite_inline.Connection) -> None:
        try:
            if connection.in_transaction:
                connection.raw.rollback()
            self._idle.append(connection)
        except sqlite3.Error:
            connection.stop()
        finally:
            self._slots.release()

    async def fetchone(self, sql: str, parameters: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of a read, outside any transaction (WAL: never waits for writers)."""
        connection = await self._take()
        try:
            row: tuple[Any, ...] | None = connection.raw.execute(sql, parameters).fetchone()
            return row
        finally:
            self._give_back(connection)

    async def fetchall(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = await self._take()
        try:
            rows: list[tuple[Any, ...]] = connection.raw.execute(sql, parameters).fetchall()
            return rows
        finally:
            self._give_back(connection)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    def joined(self, connection: sqlite_inline.Connection) -> FastLane:
        """This lane seen from inside a transaction already open on ``connection``: its
        :meth:`connection` and :meth:`transaction` hand out that same connection and commit
        nothing, so code written for a lane of its own (``conversations.save_fast``) can run
        as one part of a larger transaction, which its owner commits or rolls back."""
        return _JoinedLane(self.path, connection)


class _JoinedLane(FastLane):
    """See :meth:`FastLane.joined`: every lease (and read) gets the one connection of the
    outer transaction, and nothing commits or gives it back but the outer lease."""

    def __init__(self, path: str, connection: sqlite_inline.Connection) -> None:
        super().__init__(path, max_connections=1)
        self._joined = connection

    def transaction(self) -> _Lease:
        return _Lease(self, commit=False)  # the owner of the outer transaction commits it

    async def _take(self) -> sqlite_inline.Connection:
        return self._joined

    def _give_back(self, connection: sqlite_inline.Connection) -> None:
        return None  # the outer lease gives it back (and rolls back what it did not commit)

    async def close(self) -> None:
        return None  # the connection belongs to the outer lane


class _Lease:
    """``async with lane.connection()`` / ``lane.transaction()``: a plain class rather than an
    ``asynccontextmanager`` generator, which cost several microseconds per use on a path that
    every update takes twice."""

    __slots__ = ("_commit", "_connection", "_lane")

    def __init__(self, lane: FastLane, *, commit: bool) -> None:
        self._lane = lane
        self._commit = commit
        self._connection: sqlite_inline.Connection | None = None

    async def __aenter__(self) -> sqlite_inline.Connection:
        self._connection = await self._lane._take()
        return self._connection

    async def __aexit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if self._commit and kind is None:
                await connection.commit()
        finally:
            self._lane._give_back(connection)


__all__ = ["FastLane", "from_db_datetime", "from_db_json", "to_db_datetime", "to_db_json"]
