"""Fixtures for the delivery engine: a migrated database (SQLite, or PostgreSQL in a schema of
its own), businesses, customers and a ``telegram.Bot`` wired to the fake Bot API."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import ExtBot

from bot.delivery.__main__ import build_bot
from bot.rate_limiter import Priority
from storage.db import create_engine, create_session_factory
from storage.delivery_models import DeliveryPreference
from storage.migrate import alembic_config, upgrade_async
from storage.models import Booking, Business, Fiche, User
from tests.fakes.bot_api import TOKEN, FakeBotApi

PG_URL = os.environ.get(
    "BOOKBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Db:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def business(self, slug: str, name: str | None = None) -> int:
        async with self.sessions() as s, s.begin():
            row = Business(
                slug=slug, name=name or slug.title(), provider_kind="local", timezone="Europe/Paris"
            )
            s.add(row)
            await s.flush()
            return row.id

    async def customers(
        self, business_id: int, ids: range | list[int], *, via: str = "fiche", news: bool = True
    ) -> None:
        """Users ``ids``, customers of ``business_id`` through a fiche or a booking; ``news``:
        they said yes to the business's news (broadcasts go only to those)."""
        async with self.sessions() as s, s.begin():
            await s.execute(
                insert(User).prefix_with(
                    "OR IGNORE" if self.engine.dialect.name == "sqlite" else ""
                ),
                [{"id": i, "first_name": f"u{i}"} for i in ids],
            )
            if via == "fiche":
                await s.execute(
                    insert(Fiche),
                    [
                        {
                            "user_id": i,
                            "business_id": business_id,
                            "first_name": "A",
                            "last_name": "B",
                        }
                        for i in ids
                    ],
                )
            else:
                for i in ids:
                    s.add(booking_row(i, business_id, NOW + timedelta(days=3)))
            if news:
                await s.execute(
                    insert(DeliveryPreference),
                    [
                        {
                            "user_id": i,
                            "business_id": business_id,
                            "reminders": True,
                            "news": True,
                            "news_answered": True,
                        }
                        for i in ids
                    ],
                )

    async def execute(self, sql: str, **params: Any) -> list[Any]:
        async with self.sessions() as s, s.begin():
            result = await s.execute(text(sql), params)
            return list(result.all()) if result.returns_rows else []


def booking_row(user_id: int, business_id: int, start: datetime, **extra: Any) -> Booking:
    values: dict[str, Any] = {
        "user_id": user_id,
        "chat_id": user_id,
        "business_id": business_id,
        "provider_ref": f"ref-{uuid.uuid4().hex[:8]}",
        "service_name": "Haircut",
        "resource_name": None,
        "customer_name": "A B",
        "start_at": start,
        "end_at": start + timedelta(minutes=30),
        "status": "confirmed",
        "selection": {"service": ["cut"]},
        "idempotency_key": uuid.uuid4().hex,
    }
    return Booking(**(values | extra))


@pytest.fixture
async def sqlite_db(database_url: str) -> AsyncIterator[Db]:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    yield Db(database_url, engine, create_session_factory(engine))
    await engine.dispose()


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture
async def pg_db() -> AsyncIterator[Db]:
    """A migrated PostgreSQL schema of its own (dropped afterwards), or a skip when no server
    answers (a failure when CI=true)."""
    import asyncpg

    raw = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(raw, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if postgres_required():
            raise
        pytest.skip(f"no PostgreSQL server at {PG_URL} ({exc}); set CI=true to require it")
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await migrate_with(engine, PG_URL)
        yield Db(PG_URL, engine, create_session_factory(engine))
    finally:
        await engine.dispose()
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


async def migrate_with(
    engine: AsyncEngine, url: str, revision: str = "head", down: bool = False
) -> None:
    """Run Alembic on one of ``engine``'s connections (keeps its search_path)."""
    from alembic import command

    def run(connection: Any) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(limit=1000) as api:
        yield api


def make_bot(api: FakeBotApi, pool: int = 128, rate: float = 30.0) -> ExtBot[Priority]:
    """A dispatcher's bot on the fake (``bookbot dispatch``'s request class and rate limiter),
    with ``rate`` messages a second of the token's budget. The pool has a connection for each
    of the dispatcher's senders (up to ``rate`` 250), as ``bookbot dispatch`` gives it: a
    sender released by the limiter then never waits for a connection (and so never sends
    after a 429 has paused the others)."""
    return build_bot(TOKEN, api.base_url.removesuffix("/bot"), rate=rate, pool=pool)
