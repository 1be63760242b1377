"""The webhook's inbox (storage/inbox.py) on both databases: a repeat is refused, an abandoned
update is taken over by exactly one worker, handled ones lose their body and are pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage import inbox
from storage.db import create_engine
from storage.migrate import upgrade_async
from tests.storage.postgres import empty_database_url, postgres_url

__all__ = ["empty_database_url", "postgres_url"]  # the fixtures this module uses

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def test_the_inbox_on_each_database(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        assert await inbox.accept(engine, 1, '{"update_id": 1}', now=NOW, lease=LEASE)
        assert not await inbox.accept(engine, 1, '{"update_id": 1}', now=NOW, lease=LEASE)
        assert await inbox.accept(engine, 2, '{"update_id": 2}', now=NOW, lease=LEASE)

        # Within the lease nobody takes them; renewed, update 2 stays its worker's.
        assert await inbox.claim_abandoned(engine, now=NOW + LEASE / 2, lease=LEASE) == []
        await inbox.renew(engine, [2], until=NOW + 3 * LEASE)
        later = NOW + 2 * LEASE
        assert await inbox.claim_abandoned(engine, now=later, lease=LEASE) == [
            (1, '{"update_id": 1}')
        ]
        # taken over once: a second worker looking at the same moment gets nothing
        assert await inbox.claim_abandoned(engine, now=later, lease=LEASE) == []

        await inbox.mark_handled(engine, 1, now=later)
        async with engine.connect() as connection:
            body = await connection.scalar(
                select(inbox.inbox.c.body).where(inbox.inbox.c.update_id == 1)
            )
        assert body is None  # the update's text is not kept
        assert not await inbox.accept(engine, 1, "{}", now=later, lease=LEASE)
        assert await inbox.prune(engine, now=later + inbox.KEEP_HANDLED + LEASE) == 1
        assert await inbox.accept(engine, 1, "{}", now=later, lease=LEASE)
    finally:
        await engine.dispose()
