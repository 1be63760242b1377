"""SQLite's fast lane (storage/fastlane.py) and the conversation store on it: it must read and
write exactly what the SQLAlchemy path reads and writes, with the same version check."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import conversations
from storage.conversations import ConversationRecord
from storage.db import create_engine, create_session_factory
from storage.fastlane import FastLane, from_db_datetime, to_db_datetime
from storage.migrate import upgrade_async
from storage.models import Conversation

NOW = datetime(2027, 3, 1, 7, 30, 5, 120, tzinfo=UTC)


@pytest.fixture
async def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'lane.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    lane = FastLane.for_url(url)
    assert lane is not None
    yield create_session_factory(engine), lane, tmp_path / "lane.db"
    await lane.close()
    await engine.dispose()


def test_only_sqlite_files_get_a_fast_lane() -> None:
    assert FastLane.for_url("sqlite+aiosqlite:///some/file.db") is not None
    assert FastLane.for_url("sqlite+aiosqlite:///:memory:") is None
    assert FastLane.for_url("sqlite+aiosqlite:///f.db?timeout=3") is None
    assert FastLane.for_url("postgresql+asyncpg://u@127.0.0.1/test") is None


def test_datetimes_round_trip_and_refuse_naive_values() -> None:
    paris = datetime(2027, 3, 1, 9, 0, tzinfo=UTC).astimezone()
    assert from_db_datetime(to_db_datetime(paris)) == paris
    assert to_db_datetime(NOW) == "2027-03-01 07:30:05.000120"
    with pytest.raises(ValueError):
        to_db_datetime(datetime(2027, 3, 1, 9, 0))


async def test_a_conversation_written_by_sqlalchemy_reads_the_same_on_the_lane(world) -> None:  # type: ignore[no-untyped-def]
    sessions, lane, path = world
    record = ConversationRecord(chat_id=5, user_id=6, data={"b": {"i": 2}, "name": "Zoë"})
    async with sessions() as session, session.begin():
        assert await conversations.save(session, record, expires_at=NOW, now=NOW)
    fast = await conversations.load_fast(lane, 5, 6)
    assert (fast.id, fast.data, fast.version, fast.expires_at) == (
        record.id,
        record.data,
        1,
        NOW,
    )
    # And the text SQLAlchemy stored is the text the lane writes (SQL compares it as text).
    stored = sqlite3.connect(path).execute("SELECT expires_at FROM conversations").fetchone()[0]
    assert stored == to_db_datetime(NOW)


async def test_a_conversation_written_on_the_lane_reads_the_same_through_sqlalchemy(world) -> None:  # type: ignore[no-untyped-def]
    sessions, lane, _ = world
    record = ConversationRecord(chat_id=7, user_id=8, data={"menu": {"v": 1, "a": ["b:x"]}})
    assert await conversations.save_fast(lane, record, expires_at=NOW, now=NOW)
    record.data["step"] = "date"
    later = NOW + timedelta(minutes=3)
    assert await conversations.save_fast(lane, record, expires_at=later, now=later)
    async with sessions() as session:
        back = await conversations.load(session, 7, 8)
        swept = await conversations.expired(session, later + timedelta(seconds=1))
        not_yet = await conversations.expired(session, later - timedelta(microseconds=1))
    assert (back.id, back.data, back.version, back.expires_at) == (
        record.id,
        {"menu": {"v": 1, "a": ["b:x"]}, "step": "date"},
        2,
        later,
    )
    # The sweep's "expires_at < now" works on what the lane wrote.
    assert [r.id for r in swept] == [record.id]
    assert not_yet == []


async def test_a_stale_version_is_refused_on_both_paths(world) -> None:  # type: ignore[no-untyped-def]
    sessions, lane, _ = world
    first = ConversationRecord(chat_id=1, user_id=1, data={"n": 1})
    assert await conversations.save_fast(lane, first, expires_at=NOW, now=NOW)
    one = await conversations.load_fast(lane, 1, 1)
    two = await conversations.load_fast(lane, 1, 1)
    one.data["n"] = 2
    assert await conversations.save_fast(lane, one, expires_at=NOW, now=NOW)
    two.data["n"] = 3
    assert not await conversations.save_fast(lane, two, expires_at=NOW, now=NOW)
    async with sessions() as session, session.begin():
        three = await conversations.load(session, 1, 1)
    assert three.data == {"n": 2}
    assert not await conversations.save_fast(lane, two, expires_at=NOW, now=NOW)
    # Two first updates of one user racing to create the conversation: one wins.
    a = ConversationRecord(chat_id=2, user_id=2, data={"who": "a"})
    b = ConversationRecord(chat_id=2, user_id=2, data={"who": "b"})
    assert await conversations.save_fast(lane, a, expires_at=NOW, now=NOW)
    assert not await conversations.save_fast(lane, b, expires_at=NOW, now=NOW)
    async with sessions() as session:
        rows = list(await session.scalars(select(Conversation).where(Conversation.chat_id == 2)))
    assert [r.data for r in rows] == [{"who": "a"}]


async def test_a_failed_transaction_is_rolled_back_and_its_connection_reused(world) -> None:  # type: ignore[no-untyped-def]
    _, lane, path = world
    with pytest.raises(RuntimeError):
        async with lane.transaction() as connection:
            await connection.execute(
                "INSERT INTO users (id, first_name, created_at) VALUES (1, 'x', '2027-01-01')"
            )
            raise RuntimeError("boom")
    assert await lane.fetchone("SELECT count(*) FROM users") == (0,)
    # The connection went back to the pool without holding the write lock.
    other = sqlite3.connect(path, timeout=0)
    other.execute("INSERT INTO users (id, first_name, created_at) VALUES (2, 'y', '2027-01-01')")
    other.commit()
    other.close()


async def test_connections_are_bounded_and_handed_out_one_caller_at_a_time(tmp_path: Path) -> None:
    lane = FastLane(str(tmp_path / "pool.db"), max_connections=2)
    holding = asyncio.Event()
    release = asyncio.Event()
    seen: list[object] = []

    async def hold() -> None:
        async with lane.connection() as connection:
            seen.append(connection)
            if len(seen) == 2:
                holding.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.wait_for(holding.wait(), 1)
    third = asyncio.create_task(lane.fetchone("SELECT 1"))
    await asyncio.sleep(0.01)
    assert not third.done()  # both connections are taken
    release.set()
    assert await asyncio.wait_for(third, 1) == (1,)
    await asyncio.gather(*holders)
    assert seen[0] is not seen[1]
    await lane.close()
    with pytest.raises(RuntimeError):
        await lane.fetchone("SELECT 1")


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


@pytest.mark.parametrize("path", ["lane", "session"])
async def test_updates_leave_a_recent_expiry_alone_and_move_a_stale_one(world, path: str) -> None:  # type: ignore[no-untyped-def]
    sessions, lane, db_path = world
    idle = timedelta(minutes=30)

    async def save(record: ConversationRecord, now: datetime) -> bool:
        if path == "lane":
            return await conversations.save_fast(lane, record, expires_at=now + idle, now=now)
        async with sessions() as session, session.begin():
            return await conversations.save(session, record, expires_at=now + idle, now=now)

    def stored_row() -> tuple[str, int]:
        row = sqlite3.connect(db_path).execute("SELECT expires_at, version FROM conversations")
        expires, version = row.fetchone()
        return expires, version

    record = ConversationRecord(chat_id=3, user_id=4, data={"n": 0})
    assert await save(record, NOW)
    record.data["n"] = 1
    assert await save(record, NOW + timedelta(seconds=30))
    assert stored_row() == (to_db_datetime(NOW + idle), 2)  # data and version written
    assert record.expires_at == NOW + idle and record.version == 2
    back = await conversations.load_fast(lane, 3, 4)
    assert back.data == {"n": 1}
    later = NOW + timedelta(minutes=2)
    assert await save(back, later)
    assert stored_row() == (to_db_datetime(later + idle), 3)
    assert back.expires_at == later + idle
