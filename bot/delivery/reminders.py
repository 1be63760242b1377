"""Reminders before an appointment: rows of the outbox, created, moved and removed in the same
transaction as the booking change.

The customer's opt-out (``/settings``) is checked when a reminder is sent, not when it is
scheduled, so turning reminders back on applies to bookings made in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BusinessConfig
from storage.delivery_models import OPEN_STATUSES, PRIORITY_REMINDER, Delivery
from storage.fastlane import to_db_datetime, to_db_json
from storage.models import Booking
from storage.sqlite_inline import Connection

if TYPE_CHECKING:
    from storage.bookings import BookingView


def reminder_times(
    start: datetime, offsets_minutes: Iterable[int], now: datetime
) -> list[tuple[int, datetime]]:
    """(offset, due time) of each reminder of an appointment at ``start``, longest offset
    first; offsets that are not positive or already past are left out. Both paths use this."""
    times = []
    for offset in sorted(set(offsets_minutes), reverse=True):
        if offset <= 0:
            continue
        due = start - timedelta(minutes=offset)
        if due > now:
            times.append((offset, due))
    return times


async def schedule_for_booking(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    """Add the reminders of a confirmed ``booking`` at ``business.reminder_offsets_minutes``
    before its start; an offset already in the past is skipped. Call inside the transaction
    that inserts the booking."""
    if booking.id is None:
        await session.flush()
    for offset, due in reminder_times(booking.start_at, business.reminder_offsets_minutes, now):
        session.add(
            Delivery(
                kind="reminder",
                priority=PRIORITY_REMINDER,
                business_id=booking.business_id,
                user_id=booking.user_id,
                chat_id=booking.chat_id,
                booking_id=booking.id,
                offset_minutes=offset,
                payload={},
                status="pending",
                attempts=0,
                due_at=due,
                next_attempt_at=due,
            )
        )


# The columns the SQLAlchemy form sets; the others are null or the schema's default
# (created_at), on both paths.
_LANE_INSERT_REMINDER = (
    "INSERT INTO deliveries (kind, priority, business_id, user_id, chat_id, booking_id, "
    "offset_minutes, payload, status, attempts, due_at, next_attempt_at) "
    "VALUES ('reminder', ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
)


async def schedule_for_booking_fast(
    connection: Connection, booking: BookingView, business: BusinessConfig, now: datetime
) -> None:
    """:func:`schedule_for_booking` on the fast lane (inside the booking's transaction)."""
    times = reminder_times(booking.start_at, business.reminder_offsets_minutes, now)
    if not times:
        return
    payload = to_db_json({})
    cursor = connection.cursor()
    await cursor.executemany(
        _LANE_INSERT_REMINDER,
        [
            (
                PRIORITY_REMINDER,
                booking.business_id,
                booking.user_id,
                booking.chat_id,
                booking.id,
                offset,
                payload,
                to_db_datetime(due),
                to_db_datetime(due),
            )
            for offset, due in times
        ],
    )
    await cursor.close()


async def cancel_for_booking(
    session: AsyncSession, booking_id: int, reason: str = "cancelled"
) -> None:
    """Withdraw the reminders of a booking that are not sent yet."""
    await session.execute(
        update(Delivery)
        .where(
            Delivery.booking_id == booking_id,
            Delivery.kind == "reminder",
            Delivery.status.in_(OPEN_STATUSES),
        )
        .values(status="cancelled", last_error=reason, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


# The statuses are our own constants, not input.
_LANE_CANCEL_REMINDERS = (
    "UPDATE deliveries SET status = 'cancelled', last_error = ?, lease_owner = NULL, "  # noqa: S608
    "lease_until = NULL WHERE booking_id = ? AND kind = 'reminder' "
    f"AND status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"
)


async def cancel_for_booking_fast(
    connection: Connection, booking_id: int, reason: str = "cancelled"
) -> None:
    """:func:`cancel_for_booking` on the fast lane."""
    await connection.execute(_LANE_CANCEL_REMINDERS, (reason, booking_id))


async def reschedule_for_booking(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    """Move the reminders to ``booking``'s new start (call after updating ``start_at``, in the
    same transaction)."""
    await cancel_for_booking(session, booking.id, reason="rescheduled")
    await schedule_for_booking(session, booking, business, now)


async def reschedule_for_booking_fast(
    connection: Connection, booking: BookingView, business: BusinessConfig, now: datetime
) -> None:
    """:func:`reschedule_for_booking` on the fast lane."""
    await cancel_for_booking_fast(connection, booking.id, reason="rescheduled")
    await schedule_for_booking_fast(connection, booking, business, now)
