"""PostgreSQL: two dispatchers on one database never send a message twice (claims use
FOR UPDATE SKIP LOCKED); the migration runs up and down. Skipped without a server, except
when CI=true."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from bot.delivery.dispatcher import Dispatcher
from storage.db import create_engine, create_session_factory
from storage.delivery_models import Delivery
from tests.delivery.conftest import Db, make_bot, migrate_with
from tests.delivery.test_dispatcher import new_broadcast
from tests.fakes.bot_api import FakeBotApi


async def test_two_dispatchers_on_one_postgres_database_send_nothing_twice(pg_db: Db) -> None:
    salon = await pg_db.business("salon")
    await pg_db.customers(salon, range(1, 601))
    await new_broadcast(pg_db, salon)
    search_path = (await pg_db.execute("SHOW search_path"))[0][0]
    other = create_engine(pg_db.url, connect_args={"server_settings": {"search_path": search_path}})
    with FakeBotApi(limit=1000) as api:
        bot_a, bot_b = make_bot(api, rate=300), make_bot(api, rate=300)
        async with bot_a, bot_b:
            a = Dispatcher(pg_db.sessions, bot_a, batch_size=20, poll_interval=0.05)
            b = Dispatcher(create_session_factory(other), bot_b, batch_size=20, poll_interval=0.05)
            await asyncio.gather(a.run(until_idle=True), b.run(until_idle=True))
    await other.dispose()
    assert set(range(1, 601)) <= api.state.delivered_chats()
    assert api.state.duplicates == 0
    assert a.stats.sent > 50 and b.stats.sent > 50, (a.stats, b.stats)
    assert a.stats.sent + b.stats.sent == 601  # 600 customers + the report
    async with pg_db.sessions() as s:
        open_rows = await s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
        )
    assert open_rows == 0


async def test_migration_runs_down_and_up_on_postgres(pg_db: Db) -> None:
    await migrate_with(pg_db.engine, pg_db.url, "0001", down=True)
    tables = {
        r[0]
        for r in await pg_db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    assert "deliveries" not in tables and "bookings" in tables
    await migrate_with(pg_db.engine, pg_db.url)
    tables = {
        r[0]
        for r in await pg_db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    assert {"deliveries", "broadcasts", "delivery_preferences", "blocked_chats"} <= tables
    async with pg_db.sessions() as s:
        await s.execute(text("SELECT 1 FROM deliveries"))
