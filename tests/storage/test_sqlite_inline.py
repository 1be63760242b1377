"""The in-loop SQLite driver (storage/sqlite_inline.py): queries on the event loop's thread,
waits for another connection's write lock without blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import sqlite_inline
from storage.db import SQLITE_BUSY_TIMEOUT_MS, create_engine


async def test_engine_for_a_sqlite_file_uses_the_in_loop_driver(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_inline.Connection)
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == (
            SQLITE_BUSY_TIMEOUT_MS
        )
    await engine.dispose()


async def _insert_in_a_transaction(connection: AsyncConnection) -> None:
    async with connection.begin():
        await connection.execute(text("INSERT INTO t VALUES (2)"))


async def _insert_after_a_savepoint(connection: AsyncConnection) -> None:
    # SQLAlchemy's begin_nested opens the transaction with a SAVEPOINT, so these INSERTs are
    # inside a transaction, yet the first of them is still the one that takes the write lock.
    async with connection.begin(), connection.begin_nested():
        await connection.execute(text("INSERT INTO t VALUES (2)"))
        await connection.execute(text("INSERT INTO t VALUES (3)"))


@pytest.mark.parametrize(
    ("insert", "expected"),
    [(_insert_in_a_transaction, [1, 2]), (_insert_after_a_savepoint, [1, 2, 3])],
    ids=["transaction", "savepoint"],
)
async def test_a_write_waits_for_another_writer_while_the_loop_keeps_running(
    tmp_path: Path,
    insert: Callable[[AsyncConnection], Awaitable[None]],
    expected: list[int],
) -> None:
    path = tmp_path / "b.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("INSERT INTO t VALUES (1)")
    ticked = asyncio.Event()

    async def ticker() -> None:
        for _ in range(50):
            await asyncio.sleep(0)
        ticked.set()

    async def write() -> None:
        async with engine.connect() as connection:
            await insert(connection)

    writing = asyncio.create_task(write())
    await asyncio.sleep(0)  # the write starts and finds the database locked
    ticking = asyncio.create_task(ticker())
    # The loop goes on while the write waits: a blocking busy handler would hold it for 5 s.
    await asyncio.wait_for(ticked.wait(), timeout=1)
    await ticking
    assert not writing.done()
    other.execute("COMMIT")
    await writing
    assert sorted(r[0] for r in other.execute("SELECT x FROM t")) == expected
    other.close()
    await engine.dispose()


async def test_a_write_gives_up_with_database_is_locked_after_the_busy_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(Exception, match="database is locked"):
        async with engine.begin() as connection:
            await connection.execute(text("PRAGMA busy_timeout=50"))
            await connection.execute(text("INSERT INTO t VALUES (2)"))
    other.execute("ROLLBACK")
    other.close()
    await engine.dispose()
