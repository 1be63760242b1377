"""What a booking change means for the messages we owe (reminders): one seam between the
booking flow and the delivery engine, called inside the transaction that records the change,
so a booking and its reminders are committed together or not at all. The ``*_fast`` hooks are
the same on a fast-lane connection (storage.fastlane), inside the booking's lane transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import reminders
from storage.sqlite_inline import Connection

if TYPE_CHECKING:
    from bot.config import BusinessConfig
    from storage.bookings import BookingView
    from storage.models import Booking


async def booking_confirmed(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    await reminders.schedule_for_booking(session, booking, business, now)


async def booking_confirmed_fast(
    connection: Connection, booking: BookingView, business: BusinessConfig, now: datetime
) -> None:
    await reminders.schedule_for_booking_fast(connection, booking, business, now)


async def booking_moved(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    await reminders.reschedule_for_booking(session, booking, business, now)


async def booking_moved_fast(
    connection: Connection, booking: BookingView, business: BusinessConfig, now: datetime
) -> None:
    await reminders.reschedule_for_booking_fast(connection, booking, business, now)


async def booking_cancelled(session: AsyncSession, booking: Booking) -> None:
    await reminders.cancel_for_booking(session, booking.id)


async def booking_cancelled_fast(connection: Connection, booking_id: int) -> None:
    await reminders.cancel_for_booking_fast(connection, booking_id)
