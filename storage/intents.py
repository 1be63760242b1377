"""Booking intents: a Confirm recorded before the platform is called, then settled.

Core statements on the caller's connection (the caller owns the transaction), the same on
SQLite and PostgreSQL. An intent is settled once: :func:`settle` changes only a pending row, so
of two processes settling one intent (the user's next update and the sweep) one wins and the
other's transaction is rolled back with everything it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.intent_models import FAILED, PENDING, UNKNOWN, BookingIntent
from storage.writes import Database

_table = cast(Table, BookingIntent.__table__)


@dataclass(frozen=True, slots=True)
class IntentView:
    """An intent as read."""

    id: int
    idempotency_key: str
    user_id: int
    chat_id: int
    business_id: int
    kind: str
    request: dict[str, Any]
    status: str
    booking_id: int | None
    created_at: datetime
    resolved_at: datetime | None
    told_at: datetime | None
    lookups: int


_VIEW = [_table.c[name] for name in IntentView.__dataclass_fields__]
_INSERT = insert(_table)
_BY_KEY = select(*_VIEW).where(_table.c.idempotency_key == bindparam("p_key"))
_UNTOLD_BEFORE = (
    select(*_VIEW)
    .where(
        _table.c.told_at.is_(None),
        _table.c.created_at < bindparam("p_before", type_=_table.c.created_at.type),
    )
    .order_by(_table.c.created_at)
    .limit(bindparam("p_limit"))
)
_SETTLE = (
    update(_table)
    .where(
        _table.c.idempotency_key == bindparam("p_key"),
        _table.c.status.in_(bindparam("p_from", expanding=True)),
    )
    .values(
        status=bindparam("p_status"),
        resolved_at=bindparam("p_now", type_=_table.c.resolved_at.type),
        told_at=bindparam("p_told", type_=_table.c.told_at.type),
        # what was sent is not needed any more (it holds the customer's details)
        request={},
    )
)
_LINK = (
    update(_table)
    .where(_table.c.idempotency_key == bindparam("p_key"))
    .values(booking_id=bindparam("p_booking"))
)
_TOLD = (
    update(_table)
    .where(_table.c.idempotency_key == bindparam("p_key"), _table.c.told_at.is_(None))
    .values(told_at=bindparam("p_now", type_=_table.c.told_at.type))
)
_LOOKED_UP = (
    update(_table)
    .where(_table.c.idempotency_key == bindparam("p_key"))
    .values(lookups=_table.c.lookups + 1)
)
_FORGET_SETTLED = delete(_table).where(
    _table.c.status != PENDING,
    _table.c.resolved_at < bindparam("p_before", type_=_table.c.resolved_at.type),
)


async def record(
    connection: AsyncConnection,
    *,
    key: str,
    user_id: int,
    chat_id: int,
    business_id: int,
    kind: str,
    request: dict[str, Any],
    now: datetime,
) -> None:
    """Record a pending intent (in the transaction that checkpoints its conversation)."""
    await connection.execute(
        _INSERT,
        {
            "idempotency_key": key,
            "user_id": user_id,
            "chat_id": chat_id,
            "business_id": business_id,
            "kind": kind,
            "request": request,
            "status": PENDING,
            "created_at": now,
            "lookups": 0,
        },
    )


async def find(db: Database, key: str) -> IntentView | None:
    """The intent of the Confirm ``key``."""
    async with db.autocommit_engine.connect() as connection:
        row = (await connection.execute(_BY_KEY, {"p_key": key})).first()
        return None if row is None else IntentView(*row)


async def untold_before(db: Database, before: datetime, limit: int = 50) -> list[IntentView]:
    """Intents recorded before ``before`` whose user was not told the outcome (pending ones,
    and ones settled by a turn that died before its reply), oldest first."""
    async with db.autocommit_engine.connect() as connection:
        rows = await connection.execute(_UNTOLD_BEFORE, {"p_before": before, "p_limit": limit})
        return [IntentView(*row) for row in rows]


async def settle(
    connection: AsyncConnection,
    key: str,
    status: str,
    now: datetime,
    *,
    told: bool = False,
    certain: bool = False,
) -> bool:
    """Settle the pending intent ``key`` (``told``: in the transaction of the reply that tells
    the user); ``False`` (nothing changed) if it was settled already: the caller then writes
    nothing of its own outcome. ``certain``: the platform's own answer to the Confirm, which
    also overrides a lookup's "failed" or "unknown" (a lookup made while the answer was late)."""
    result = await connection.execute(
        _SETTLE,
        {
            "p_key": key,
            "p_status": status,
            "p_now": now,
            "p_told": now if told else None,
            "p_from": [PENDING, FAILED, UNKNOWN] if certain else [PENDING],
        },
    )
    return result.rowcount == 1


async def link_booking(connection: AsyncConnection, key: str, booking_id: int) -> None:
    """Name the booking row a settled intent produced (or moved)."""
    await connection.execute(_LINK, {"p_key": key, "p_booking": booking_id})


async def mark_told(connection: AsyncConnection, key: str, now: datetime) -> bool:
    """Note that the user was told the outcome; ``False`` if they had been already."""
    return (await connection.execute(_TOLD, {"p_key": key, "p_now": now})).rowcount == 1


async def count_lookup(connection: AsyncConnection, key: str) -> None:
    await connection.execute(_LOOKED_UP, {"p_key": key})


async def forget_settled(connection: AsyncConnection, before: datetime) -> int:
    """Delete intents settled before ``before`` (they only served to tell the user)."""
    return (await connection.execute(_FORGET_SETTLED, {"p_before": before})).rowcount


__all__ = [
    "IntentView",
    "count_lookup",
    "find",
    "forget_settled",
    "link_booking",
    "mark_told",
    "record",
    "settle",
    "untold_before",
]
