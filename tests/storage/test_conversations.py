"""The conversation store (storage/conversations.py) on the one storage path, on SQLite and
PostgreSQL: what is written reads back the same, the version check refuses a stale write, and
the sweep finds what expired."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import conversations
from storage.conversations import ConversationRecord
from storage.db import create_engine, create_session_factory, sqlite_file
from storage.migrate import upgrade_async
from storage.models import Conversation

NOW = datetime(2027, 3, 1, 7, 30, 5, 120, tzinfo=UTC)


@pytest.fixture
async def engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_async(empty_database_url)
    made = create_engine(empty_database_url)
    yield made
    await made.dispose()


async def save(
    engine: AsyncEngine, record: ConversationRecord, expires: datetime, now: datetime
) -> bool:
    async with engine.begin() as connection:
        return await conversations.save(connection, record, expires_at=expires, now=now)


async def load(engine: AsyncEngine, chat_id: int, user_id: int) -> ConversationRecord:
    async with engine.connect() as connection:
        return await conversations.load(connection, chat_id, user_id)


async def stored(engine: AsyncEngine) -> list[tuple[datetime, int]]:
    table = Conversation.__table__
    async with engine.connect() as connection:
        rows = await connection.execute(select(table.c.expires_at, table.c.version))
        return [(expires, version) for expires, version in rows]


def test_only_plain_sqlite_files_get_the_in_loop_driver() -> None:
    assert sqlite_file("sqlite+aiosqlite:///some/file.db") == "some/file.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite:///f.db?timeout=3") is None
    assert sqlite_file("postgresql+asyncpg://u@127.0.0.1/test") is None


async def test_times_round_trip_aware_and_naive_ones_are_refused(engine: AsyncEngine) -> None:
    paris = datetime(2027, 3, 1, 9, 0, tzinfo=UTC).astimezone()
    record = ConversationRecord(chat_id=1, user_id=1)
    assert await save(engine, record, paris, NOW)
    back = await load(engine, 1, 1)
    assert back.expires_at == paris and back.expires_at.tzinfo is not None
    with pytest.raises(StatementError, match="naive datetime"):
        await save(engine, ConversationRecord(chat_id=2, user_id=2), datetime(2027, 3, 1), NOW)


async def test_sqlite_stores_times_as_text_in_utc_with_microseconds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Rows written before keep loading and comparing: the shape SQL compares as text."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'text.db'}"
    await upgrade_async(url)
    made = create_engine(url)
    try:
        assert await save(made, ConversationRecord(chat_id=5, user_id=6), NOW, NOW)
    finally:
        await made.dispose()
    with sqlite3.connect(tmp_path / "text.db") as raw:
        (text,) = raw.execute("SELECT expires_at FROM conversations").fetchone()
    assert text == "2027-03-01 07:30:05.000120"


async def test_a_conversation_reads_back_as_written_and_is_swept_once_expired(
    engine: AsyncEngine,
) -> None:
    record = ConversationRecord(chat_id=7, user_id=8, data={"menu": {"v": 1, "a": ["b:x"]}})
    assert await save(engine, record, NOW, NOW)
    record.data["step"] = "date"
    later = NOW + timedelta(minutes=3)
    assert await save(engine, record, later, later)
    back = await load(engine, 7, 8)
    async with create_session_factory(engine)() as session:
        swept = await conversations.expired(session, later + timedelta(seconds=1))
        not_yet = await conversations.expired(session, later - timedelta(microseconds=1))
    assert (back.id, back.data, back.version, back.expires_at) == (
        record.id,
        {"menu": {"v": 1, "a": ["b:x"]}, "step": "date"},
        2,
        later,
    )
    assert [r.id for r in swept] == [record.id]
    assert not_yet == []


async def test_a_stale_version_is_refused(engine: AsyncEngine) -> None:
    first = ConversationRecord(chat_id=1, user_id=1, data={"n": 1})
    assert await save(engine, first, NOW, NOW)
    one = await load(engine, 1, 1)
    two = await load(engine, 1, 1)
    one.data["n"] = 2
    assert await save(engine, one, NOW, NOW)
    two.data["n"] = 3
    assert not await save(engine, two, NOW, NOW)
    three = await load(engine, 1, 1)
    assert three.data == {"n": 2}
    assert not await save(engine, two, NOW, NOW)
    # Two first updates of one user racing to create the conversation: one wins.
    a = ConversationRecord(chat_id=2, user_id=2, data={"who": "a"})
    b = ConversationRecord(chat_id=2, user_id=2, data={"who": "b"})
    assert await save(engine, a, NOW, NOW)
    assert not await save(engine, b, NOW, NOW)
    assert b.id is None and b.version == 0
    table = Conversation.__table__
    async with engine.connect() as connection:
        rows = await connection.execute(select(table.c.data).where(table.c.chat_id == 2))
        assert [data for (data,) in rows] == [{"who": "a"}]


async def test_a_refused_insert_leaves_the_rest_of_the_transaction_usable(
    engine: AsyncEngine,
) -> None:
    """The losing insert of that race must not abort the turn's transaction (PostgreSQL
    aborts a whole transaction on an error): the turn's other writes still commit."""
    assert await save(engine, ConversationRecord(chat_id=3, user_id=3), NOW, NOW)
    async with engine.begin() as connection:
        late = ConversationRecord(chat_id=3, user_id=3, data={"late": True})
        assert not await conversations.save(connection, late, expires_at=NOW, now=NOW)
        other = ConversationRecord(chat_id=4, user_id=4, data={"other": True})
        assert await conversations.save(connection, other, expires_at=NOW, now=NOW)
    assert (await load(engine, 4, 4)).data == {"other": True}


async def test_a_failed_transaction_is_rolled_back_and_holds_no_lock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rollback.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    made = create_engine(url)
    try:
        with pytest.raises(RuntimeError):
            async with made.begin() as connection:
                record = ConversationRecord(chat_id=1, user_id=2, data={"n": 1})
                assert await conversations.save(connection, record, expires_at=NOW, now=NOW)
                raise RuntimeError("a later part of the transaction failed")
        assert await stored(made) == []
        # The connection went back to the pool without holding the write lock.
        other = sqlite3.connect(path, timeout=0)
        other.execute(
            "INSERT INTO users (id, first_name, created_at) VALUES (2, 'y', '2027-01-01')"
        )
        other.commit()
        other.close()
    finally:
        await made.dispose()


def test_the_stored_expiry_is_kept_while_it_lags_by_less_than_a_minute() -> None:
    idle = timedelta(minutes=30)
    stored = NOW + idle
    # 50 s later the exact expiry is 50 s further: close enough, the stored one stays.
    soon = NOW + timedelta(seconds=50)
    assert conversations.next_expiry(stored, soon + idle, soon) == stored
    # Over a minute behind: moved to the exact one.
    later = NOW + timedelta(seconds=61)
    assert conversations.next_expiry(stored, later + idle, later) == later + idle
    # A short idle time allows only 5% of it (here 3 s), so expiry is never much early.
    short = timedelta(minutes=1)
    soon = NOW + timedelta(seconds=4)
    assert conversations.next_expiry(NOW + short, soon + short, soon) == soon + short
    # Never later than exact (the idle time was shortened meanwhile), and a new one is exact.
    assert conversations.next_expiry(stored + idle, stored, NOW) == stored
    assert conversations.next_expiry(None, stored, NOW) == stored


async def test_updates_leave_a_recent_expiry_alone_and_move_a_stale_one(
    engine: AsyncEngine,
) -> None:
    idle = timedelta(minutes=30)
    record = ConversationRecord(chat_id=3, user_id=4, data={"n": 0})
    assert await save(engine, record, NOW + idle, NOW)
    record.data["n"] = 1
    soon = NOW + timedelta(seconds=30)
    assert await save(engine, record, soon + idle, soon)
    assert await stored(engine) == [(NOW + idle, 2)]  # data and version written
    assert record.expires_at == NOW + idle and record.version == 2
    back = await load(engine, 3, 4)
    assert back.data == {"n": 1}
    later = NOW + timedelta(minutes=2)
    assert await save(engine, back, later + idle, later)
    assert await stored(engine) == [(later + idle, 3)]
    assert back.expires_at == later + idle
