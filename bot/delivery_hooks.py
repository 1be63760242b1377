"""What a booking change means for the messages we owe (reminders): one seam between the
booking flow and the delivery engine, called inside the transaction that records the change."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from bot.config import BusinessConfig
    from storage.models import Booking


def _reminders_available() -> bool:
    return importlib.util.find_spec("bot.delivery.reminders") is not None


async def booking_confirmed(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    if _reminders_available():
        from bot.delivery import reminders

        await reminders.schedule_for_booking(session, booking, business, now)


async def booking_moved(
    session: AsyncSession, booking: Booking, business: BusinessConfig, now: datetime
) -> None:
    if _reminders_available():
        from bot.delivery import reminders

        await reminders.reschedule_for_booking(session, booking, business, now)


async def booking_cancelled(session: AsyncSession, booking: Booking) -> None:
    if _reminders_available():
        from bot.delivery import reminders

        await reminders.cancel_for_booking(session, booking.id)
