"""The delivery tables' migration (0002) runs up and down on SQLite and matches the models."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import downgrade, upgrade


async def test_migration_0002_runs_down_and_up_on_sqlite(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(downgrade, database_url, "0001")
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert "deliveries" not in tables and "bookings" in tables
    await asyncio.to_thread(upgrade, database_url)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("deliveries"))
    await engine.dispose()
    assert {"deliveries", "broadcasts", "delivery_preferences", "blocked_chats"} <= tables
    assert "ix_deliveries_due" in {i["name"] for i in indexes}
