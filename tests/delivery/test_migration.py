"""The delivery tables' migration (0002) runs up and down on SQLite and matches the models."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect, text

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


async def test_migration_0004_counts_an_old_news_off_as_answered_and_an_old_on_as_not(
    database_url: str,
) -> None:
    """Before news was opt-in it was on by default: a stored "off" was the customer's no, a
    stored "on" may be the default, so that customer is asked (and gets no news meanwhile)."""
    await asyncio.to_thread(upgrade, database_url, "0002")
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO businesses (id, slug, name, provider_kind, timezone) "
                "VALUES (1, 'b', 'B', 'local', 'UTC')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO delivery_preferences (user_id, business_id, reminders, news) "
                "VALUES (10, 1, false, true), (11, 1, true, false)"
            )
        )
    await asyncio.to_thread(upgrade, database_url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT user_id, reminders, news, news_answered FROM delivery_preferences")
        )
        found = {r.user_id: (bool(r.reminders), bool(r.news), bool(r.news_answered)) for r in rows}
    await engine.dispose()
    assert found == {10: (False, True, False), 11: (True, False, True)}
