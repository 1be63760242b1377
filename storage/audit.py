"""The audit log of admin actions (:class:`storage.admin_models.AuditEntry`): appended in the
transaction of the action it records, listed newest first. Nothing here updates or deletes a
row, and the database refuses it anyway (triggers added by the migration)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.admin_models import AuditEntry
from storage.writes import BookingChange, Write

_table = cast(Table, AuditEntry.__table__)


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime
    actor_id: int
    action: str
    business_id: int | None
    detail: dict[str, Any]


async def record(
    db: AsyncConnection | AsyncSession,
    *,
    actor_id: int,
    action: str,
    business_id: int | None,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """Append one entry (inside the transaction that makes the change it records)."""
    await db.execute(
        insert(_table).values(
            at=now, actor_id=actor_id, action=action, business_id=business_id, detail=detail
        )
    )


def recorded(
    *, actor_id: int, action: str, business_id: int | None, detail: dict[str, Any], now: datetime
) -> Write:
    """:func:`record` as a turn's write (for actions that change nothing else: a view)."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        await record(
            connection,
            actor_id=actor_id,
            action=action,
            business_id=business_id,
            detail=detail,
            now=now,
        )
        return None

    return write


async def entries(
    db: AsyncConnection | AsyncSession, *, limit: int, offset: int = 0
) -> list[AuditView]:
    """The newest entries first."""
    rows = await db.execute(
        select(
            _table.c.id,
            _table.c.at,
            _table.c.actor_id,
            _table.c.action,
            _table.c.business_id,
            _table.c.detail,
        )
        .order_by(_table.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [AuditView(*row) for row in rows]


__all__ = ["AuditView", "entries", "record", "recorded"]
