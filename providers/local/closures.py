"""Closures of the local calendar: a day off, a holiday, a blocked time range, per staff
member (:class:`storage.models.LocalClosure`), from the configuration (``closures``) or from
Telegram (``/close``, :mod:`bot.admin.closures`).

A module of its own because both start-up (the configuration's closures, written anew) and the
admin command write them. A closure claims the *free* blocks of its range in
``local_slot_claims``: the slot arithmetic then offers none of them, and the same unique
constraint that stops a double booking stops a booking racing the closure. Bookings already in
the range keep their blocks (the admin is told how many, and may cancel them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from providers.local.schedule import blocks
from providers.local.settings import LocalSettings, parse_range
from storage.models import LocalAppointment, LocalClosure, LocalSlotClaim, LocalStaff

_closures = cast(Table, LocalClosure.__table__)
_claims = cast(Table, LocalSlotClaim.__table__)
_appointments = cast(Table, LocalAppointment.__table__)

Executor = AsyncConnection | AsyncSession


@dataclass(frozen=True)
class Closed:
    """What closing a range did: the closures written, and the bookings it left in place."""

    closure_ids: list[int]
    bookings_kept: int


def ranges(
    first: date, last: date, hours: tuple[time, time] | None, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The intervals a closure from ``first`` to ``last`` (inclusive) covers: whole days as
    one interval, or ``hours`` on each day."""
    if hours is None:
        start = datetime.combine(first, time(0), zone)
        return [(start, datetime.combine(last + timedelta(days=1), time(0), zone))]
    out = []
    day = first
    while day <= last:
        out.append((datetime.combine(day, hours[0], zone), datetime.combine(day, hours[1], zone)))
        day += timedelta(days=1)
    return out


async def close(
    db: Executor,
    *,
    business_id: int,
    staff_ids: Sequence[int],
    intervals: Iterable[tuple[datetime, datetime]],
    reason: str,
    created_by: int | None,
) -> Closed:
    """Close ``intervals`` for each of ``staff_ids`` (in the caller's transaction)."""
    ids: list[int] = []
    kept = 0
    insert_ignoring = postgresql.insert if _dialect(db) == "postgresql" else sqlite.insert
    for start, end in intervals:
        for staff_id in staff_ids:
            closure_id = int(
                (
                    await db.execute(
                        insert(_closures)
                        .values(
                            business_id=business_id,
                            staff_id=staff_id,
                            start_at=start,
                            end_at=end,
                            reason=reason[:200],
                            created_by=created_by,
                        )
                        .returning(_closures.c.id)
                    )
                ).scalar_one()
            )
            ids.append(closure_id)
            rows = [
                {"closure_id": closure_id, "staff_id": staff_id, "block_start": b}
                for b in blocks(start, end)
            ]
            if rows:
                await db.execute(insert_ignoring(_claims).values(rows).on_conflict_do_nothing())
            kept += await _bookings_within(db, staff_id, start, end)
    return Closed(ids, kept)


async def _bookings_within(db: Executor, staff_id: int, start: datetime, end: datetime) -> int:
    found = await db.scalar(
        select(func.count())
        .select_from(_appointments)
        .where(
            _appointments.c.staff_id == staff_id,
            _appointments.c.status == "confirmed",
            _appointments.c.start_at < end,
            _appointments.c.end_at > start,
        )
    )
    return int(found or 0)


async def reopen(db: Executor, business_id: int, closure_id: int) -> bool:
    """Remove one closure of ``business_id`` and free its blocks."""
    mine = and_(_closures.c.id == closure_id, _closures.c.business_id == business_id)
    if await db.scalar(select(_closures.c.id).where(mine)) is None:
        return False
    await db.execute(delete(_claims).where(_claims.c.closure_id == closure_id))
    await db.execute(delete(_closures).where(mine))
    return True


async def upcoming(db: Executor, business_id: int, now: datetime) -> list[LocalClosure]:
    """The closures of ``business_id`` that have not ended, soonest first."""
    rows = await db.execute(
        select(_closures)
        .where(_closures.c.business_id == business_id, _closures.c.end_at > now)
        .order_by(_closures.c.start_at, _closures.c.id)
    )
    return [LocalClosure(**dict(row._mapping)) for row in rows]


async def sync_configured(
    session: AsyncSession, business_id: int, settings: LocalSettings, zone: ZoneInfo
) -> None:
    """Write the configuration's closures anew (those made in Telegram stay)."""
    configured = select(_closures.c.id).where(
        _closures.c.business_id == business_id, _closures.c.created_by.is_(None)
    )
    await session.execute(delete(_claims).where(_claims.c.closure_id.in_(configured)))
    await session.execute(
        delete(_closures).where(
            _closures.c.business_id == business_id, _closures.c.created_by.is_(None)
        )
    )
    staff = {
        s.key: s.id
        for s in await session.scalars(
            select(LocalStaff).where(LocalStaff.business_id == business_id, LocalStaff.active)
        )
    }
    for wanted in settings.closures:
        staff_ids = (
            [staff[k] for k in wanted.staff if k in staff] if wanted.staff else list(staff.values())
        )
        hours = parse_range(wanted.hours) if wanted.hours else None
        await close(
            session,
            business_id=business_id,
            staff_ids=staff_ids,
            intervals=ranges(wanted.start, wanted.end or wanted.start, hours, zone),
            reason=wanted.reason,
            created_by=None,
        )


def _dialect(db: Executor) -> str:
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    return bind.dialect.name


__all__ = ["Closed", "close", "ranges", "reopen", "sync_configured", "upcoming"]
