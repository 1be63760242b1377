"""The webhook's inbox: every update Telegram posted, by ``update_id``, so that each is handled
once across every worker of one database, and none is lost once acknowledged.

A worker answers Telegram's POST only after :func:`accept` committed the update's row (with
its body and a lease: "being handled by someone until ..."). A second copy of the same update,
on this worker or another, finds the row and is acknowledged without being handled again. Once
handled, :func:`mark_handled` drops the body (the update's text is personal data) and keeps the
id, for as long as Telegram might send the update again (:data:`KEEP_HANDLED`).

If the worker dies before handling what it accepted, the row's lease runs out and any worker
takes it over (:func:`claim_abandoned`); a worker renews the leases of what it is still
handling (:func:`renew`), so a slow update is not taken over while it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import BigInteger, Index, Table, Text, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import by_dialect
from storage.models import Base
from storage.types import UTCDateTime

#: Telegram keeps an update it could not deliver for 24 hours at most
KEEP_HANDLED = timedelta(hours=25)


class WebhookUpdate(Base):
    __tablename__ = "webhook_updates"
    __table_args__ = (Index("ix_webhook_updates_lease_until", "lease_until"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: the update's JSON while it waits to be handled, ``None`` once handled
    body: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: until when the worker that took it may handle it undisturbed; ``None`` once handled
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


inbox = cast(Table, WebhookUpdate.__table__)

_ACCEPT = by_dialect(
    lambda insert: insert(inbox).on_conflict_do_nothing(index_elements=[inbox.c.update_id])
)


async def accept(
    engine: AsyncEngine, update_id: int, body: str, *, now: datetime, lease: timedelta
) -> bool:
    """Record the update, committed; ``False`` when it was already there (a repeat)."""
    async with engine.begin() as connection:
        result = await connection.execute(
            _ACCEPT[connection.dialect.name],
            {
                "update_id": update_id,
                "body": body,
                "received_at": now,
                "lease_until": now + lease,
                "handled_at": None,
            },
        )
    return bool(result.rowcount)


async def mark_handled(engine: AsyncEngine, update_id: int, *, now: datetime) -> None:
    """The update was handled: forget its body, keep its id against repeats."""
    async with engine.begin() as connection:
        await connection.execute(
            update(inbox)
            .where(inbox.c.update_id == update_id)
            .values(body=None, lease_until=None, handled_at=now)
        )


async def renew(engine: AsyncEngine, update_ids: Sequence[int], *, until: datetime) -> None:
    """Extend the leases of updates still being handled here."""
    if not update_ids:
        return
    async with engine.begin() as connection:
        await connection.execute(
            update(inbox)
            .where(inbox.c.update_id.in_(update_ids), inbox.c.handled_at.is_(None))
            .values(lease_until=until)
        )


async def claim_abandoned(
    engine: AsyncEngine, *, now: datetime, lease: timedelta, limit: int = 100
) -> list[tuple[int, str]]:
    """Take over updates whose worker's lease ran out unhandled, oldest first: (id, body).
    Each row is taken by one worker only (the lease it saw must still be there)."""
    async with engine.connect() as connection:
        stale = (
            await connection.execute(
                select(inbox.c.update_id, inbox.c.lease_until, inbox.c.body)
                .where(inbox.c.handled_at.is_(None), inbox.c.lease_until < now)
                .order_by(inbox.c.update_id)
                .limit(limit)
            )
        ).all()
    taken: list[tuple[int, str]] = []
    for update_id, seen_lease, body in stale:
        async with engine.begin() as connection:
            result = await connection.execute(
                update(inbox)
                .where(inbox.c.update_id == update_id, inbox.c.lease_until == seen_lease)
                .values(lease_until=now + lease)
            )
        if result.rowcount and body is not None:
            taken.append((update_id, body))
    return taken


async def prune(engine: AsyncEngine, *, now: datetime) -> int:
    """Forget handled updates Telegram can no longer send again; how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(inbox).where(inbox.c.handled_at < now - KEEP_HANDLED)
        )
    return int(result.rowcount or 0)
