"""Reminders before an appointment: rows of the outbox, created, moved and removed in the same
transaction as the booking change (the engine calls :func:`follow` with the change a booking
write answers with).

The customer's opt-out (``/settings``) is checked when a reminder is sent, not when it is
scheduled, so turning reminders back on applies to bookings made in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.config import BusinessConfig
from storage.delivery_models import OPEN_STATUSES, PRIORITY_REMINDER, Delivery
from storage.writes import BookingChange

_deliveries = cast(Table, Delivery.__table__)

#: Where reminders are written: the booking's own transaction, on a connection (the engine's
#: turns) or a session (the delivery handlers).
Executor = AsyncConnection | AsyncSession


class Booked(Protocol):
    """What a reminder needs of its booking (a ``BookingView`` or a ``Booking`` row)."""

    @property
    def id(self) -> int: ...
    @property
    def business_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def start_at(self) -> datetime: ...


def reminder_times(
    start: datetime, offsets_minutes: Iterable[int], now: datetime
) -> list[tuple[int, datetime]]:
    """(offset, due time) of each reminder of an appointment at ``start``, longest offset
    first; offsets that are not positive or already past are left out."""
    times = []
    for offset in sorted(set(offsets_minutes), reverse=True):
        if offset <= 0:
            continue
        due = start - timedelta(minutes=offset)
        if due > now:
            times.append((offset, due))
    return times


_INSERT = insert(_deliveries)


async def schedule_for_booking(
    db: Executor, booking: Booked, business: BusinessConfig, now: datetime
) -> None:
    """Add the reminders of a confirmed ``booking`` at ``business.reminder_offsets_minutes``
    before its start; an offset already in the past is skipped. Call inside the transaction
    that inserts the booking."""
    rows = [
        {
            "kind": "reminder",
            "priority": PRIORITY_REMINDER,
            "business_id": booking.business_id,
            "user_id": booking.user_id,
            "chat_id": booking.chat_id,
            "booking_id": booking.id,
            "offset_minutes": offset,
            "payload": {},
            "status": "pending",
            "attempts": 0,
            "due_at": due,
            "next_attempt_at": due,
        }
        for offset, due in reminder_times(booking.start_at, business.reminder_offsets_minutes, now)
    ]
    if rows:
        await db.execute(_INSERT, rows)


_CANCEL = (
    update(_deliveries)
    .where(
        _deliveries.c.booking_id == bindparam("p_booking"),
        _deliveries.c.kind == "reminder",
        _deliveries.c.status.in_(OPEN_STATUSES),
    )
    .values(
        status="cancelled", last_error=bindparam("p_reason"), lease_owner=None, lease_until=None
    )
)


async def cancel_for_booking(db: Executor, booking_id: int, reason: str = "cancelled") -> None:
    """Withdraw the reminders of a booking that are not sent yet."""
    await db.execute(_CANCEL, {"p_booking": booking_id, "p_reason": reason})


async def reschedule_for_booking(
    db: Executor, booking: Booked, business: BusinessConfig, now: datetime
) -> None:
    """Move the reminders to ``booking``'s new start (call after updating ``start_at``, in the
    same transaction)."""
    await cancel_for_booking(db, booking.id, reason="rescheduled")
    await schedule_for_booking(db, booking, business, now)


async def follow(
    connection: AsyncConnection, change: BookingChange, business: BusinessConfig
) -> None:
    """The reminders a booking change calls for, in the change's own transaction."""
    if change.kind == "confirmed":
        await schedule_for_booking(connection, change.booking, business, change.now)
    elif change.kind == "moved":
        await reschedule_for_booking(connection, change.booking, business, change.now)
    else:
        await cancel_for_booking(connection, change.booking.id)
