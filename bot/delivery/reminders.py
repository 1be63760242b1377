"""Reminders before an appointment: rows of the outbox, created, moved and removed in the same
transaction as the booking change.

The customer's opt-out (``/settings``) is checked when a reminder is sent, not when it is
scheduled, so turning reminders back on applies to bookings made in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BusinessConfig
from storage.delivery_models import OPEN_STATUSES, PRIORITY_REMINDER, Delivery
from storage.models import Booking


async def schedule_for_booking(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    """Add the reminders of a confirmed ``booking`` at ``business.reminder_offsets_minutes``
    before its start; an offset already in the past is skipped. Call inside the transaction
    that inserts the booking."""
    if booking.id is None:
        await session.flush()
    for offset in sorted(set(business.reminder_offsets_minutes), reverse=True):
        if offset <= 0:
            continue
        due = booking.start_at - timedelta(minutes=offset)
        if due <= now:
            continue
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


async def reschedule_for_booking(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    """Move the reminders to ``booking``'s new start (call after updating ``start_at``, in the
    same transaction)."""
    await cancel_for_booking(session, booking.id, reason="rescheduled")
    await schedule_for_booking(session, booking, business, now)
