"""PostgreSQL advisory locks: what several bookbot processes on one database do one at a time.

- :data:`MIGRATIONS`: Alembic's run (``migrations/env.py`` takes it in its transaction), so two
  ``bookbot migrate`` started together do not both create ``alembic_version``;
- :data:`START_UP`: a process's start-up writes (the businesses, their admins, the local
  calendars' catalogs, :func:`bot.services.build_services`), so workers started together do
  not insert the same rows at once;
- :data:`POLLING`: held by the one process polling Telegram for a bot, for as long as it
  polls (a second poller would steal its updates), or shared by the bot's webhook workers.

On SQLite (one file, one machine) these are no-ops: its own write lock serialises the writers,
and several processes on one SQLite file are not a supported deployment.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

#: lock ids: arbitrary 64-bit numbers, fixed so every process and version agrees on them
MIGRATIONS = 0x626F_6F6B_0001
START_UP = 0x626F_6F6B_0002
POLLING = 0x626F_6F6B_0003


def polling_lock_id(bot_id: int) -> int:
    """The polling lock of one bot (several bots may share a database)."""
    digest = hashlib.sha256(f"{POLLING}:{bot_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_in_transaction(connection: Connection, lock_id: int) -> None:
    """Wait for ``lock_id`` and hold it until the connection's transaction ends (PostgreSQL;
    nothing elsewhere)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


@asynccontextmanager
async def held(engine: AsyncEngine, lock_id: int) -> AsyncIterator[None]:
    """Wait for ``lock_id``, hold it for the block (on a connection of its own, so the block
    may use the engine freely; nothing on SQLite)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        await _autocommit(connection)
        await connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})


async def try_hold(
    engine: AsyncEngine, lock_id: int, *, shared: bool = False
) -> AsyncConnection | None:
    """Take ``lock_id`` now if it is free (``shared``: unless someone holds it exclusively):
    the connection holding it (close it to release), or ``None`` when it is taken.
    PostgreSQL only (:func:`supports_locks`)."""
    function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    connection = await engine.connect()
    try:
        await _autocommit(connection)
        got = await connection.scalar(text(f"SELECT {function}(:id)"), {"id": lock_id})
    except BaseException:
        await connection.close()
        raise
    if got:
        return connection
    await connection.close()
    return None


def supports_locks(engine: AsyncEngine) -> bool:
    """Whether ``engine``'s database has advisory locks (PostgreSQL)."""
    return engine.dialect.name == "postgresql"


async def _autocommit(connection: AsyncConnection) -> None:
    # A session-level lock outlives transactions; autocommit keeps the lock's connection from
    # sitting "idle in transaction" for as long as it is held.
    await connection.execution_options(isolation_level="AUTOCOMMIT")
