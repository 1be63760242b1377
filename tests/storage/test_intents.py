"""Booking intents on SQLite and PostgreSQL: settled once, by the first settler, except that the
platform's own answer overrides a lookup's "failed" or "unknown"; told once; forgotten when old."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import intents
from storage.db import autocommit, create_engine
from storage.intent_models import BOOKED, FAILED, PENDING, UNKNOWN
from storage.migrate import upgrade_async
from storage.models import Business

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Db:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def autocommit_engine(self) -> AsyncEngine:
        return autocommit(self.engine)


@pytest.fixture
async def db(empty_database_url: str) -> AsyncIterator[Db]:
    await upgrade_async(empty_database_url)
    engine = create_engine(empty_database_url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Business).values(
                id=1, slug="salon", name="Salon", provider_kind="local", timezone="Europe/Paris"
            )
        )
    yield Db(engine)
    await engine.dispose()


async def record(db: Db, key: str, at: datetime = NOW) -> None:
    async with db.engine.begin() as connection:
        await intents.record(
            connection,
            key=key,
            user_id=42,
            chat_id=42,
            business_id=1,
            kind="book",
            request={"b": {"cust": {"first_name": "Anna"}}},
            now=at,
        )


async def settle(db: Db, key: str, status: str, **options: bool) -> bool:
    async with db.engine.begin() as connection:
        return await intents.settle(connection, key, status, NOW, **options)


async def test_an_intent_is_settled_once_and_forgets_what_was_sent(db: Db) -> None:
    await record(db, "1:2")
    found = await intents.find(db, "1:2")
    assert found is not None and found.status == PENDING and found.request["b"]
    assert await settle(db, "1:2", FAILED)
    assert not await settle(db, "1:2", BOOKED), "a lookup never overrides a settled intent"
    settled = await intents.find(db, "1:2")
    assert settled is not None
    assert (settled.status, settled.request, settled.told_at) == (FAILED, {}, None)


@pytest.mark.parametrize("guess", [FAILED, UNKNOWN])
async def test_the_platforms_answer_overrides_a_lookups_guess(db: Db, guess: str) -> None:
    await record(db, "1:2")
    assert await settle(db, "1:2", guess)
    assert await settle(db, "1:2", BOOKED, certain=True, told=True)
    assert not await settle(db, "1:2", BOOKED, certain=True), "booked stays booked"
    settled = await intents.find(db, "1:2")
    assert settled is not None and settled.status == BOOKED and settled.told_at is not None


async def test_the_untold_are_found_told_once_and_old_settled_ones_forgotten(db: Db) -> None:
    await record(db, "1:2", NOW - timedelta(minutes=5))
    await record(db, "1:3", NOW)
    assert [i.idempotency_key for i in await intents.untold_before(db, NOW)] == ["1:2"]
    async with db.engine.begin() as connection:
        assert await intents.mark_told(connection, "1:2", NOW)
        assert not await intents.mark_told(connection, "1:2", NOW)
    assert await intents.untold_before(db, NOW + timedelta(minutes=1)) == [
        await intents.find(db, "1:3")
    ]
    assert await settle(db, "1:3", BOOKED)
    async with db.engine.begin() as connection:
        assert await intents.forget_settled(connection, NOW + timedelta(days=3)) == 1
    assert await intents.find(db, "1:3") is None
    assert await intents.find(db, "1:2") is not None, "a pending intent is never forgotten"
