"""``storage.db.connected``: a connection for a read or a lone committed statement, closed in the
caller's task; it always goes back to the pool (after the block, an error or a cancellation),
and what the block committed is seen by the next connection. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import autocommit, connected, create_engine


@pytest.fixture
async def engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(empty_database_url)
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    yield autocommit(made)
    await made.dispose()


def checked_out(engine: AsyncEngine) -> int:
    return int(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


def _insert_and_commit(connection: Connection, value: int) -> None:
    connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
    connection.commit()


async def test_a_committed_statement_is_seen_and_the_connection_goes_back(
    engine: AsyncEngine,
) -> None:
    async with connected(engine) as connection:
        assert checked_out(engine) == 1
        await connection.run_sync(_insert_and_commit, 7)
    assert checked_out(engine) == 0
    async with connected(engine) as connection:
        assert (await connection.execute(text("SELECT x FROM t"))).scalar_one() == 7
    assert checked_out(engine) == 0


async def test_an_error_in_the_block_rolls_back_and_returns_the_connection(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(RuntimeError):
        async with connected(engine) as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("the turn failed")
    assert checked_out(engine) == 0
    async with connected(engine) as connection:
        count = (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
    # PostgreSQL in autocommit mode kept the statement; SQLite's transaction was rolled back.
    assert count == (1 if engine.dialect.name == "postgresql" else 0)


async def test_a_cancelled_block_returns_the_connection(engine: AsyncEngine) -> None:
    entered = asyncio.Event()

    async def block() -> None:
        async with connected(engine) as connection:
            await connection.execute(text("SELECT 1"))
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(block())
    await asyncio.wait_for(entered.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert checked_out(engine) == 0
