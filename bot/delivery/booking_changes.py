"""What a booking change owes people outside the conversation, written in the change's own
transaction: the customer's reminders (:mod:`bot.delivery.reminders`) and the business's
notices (:mod:`bot.delivery.notices`). Every path that confirms, moves or cancels a booking
(the engine's turn, a Confirm's intent, its reconciliation) calls :func:`follow`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import BusinessConfig
from bot.delivery import notices, reminders
from storage.writes import BookingChange


async def follow(
    connection: AsyncConnection, change: BookingChange, business: BusinessConfig
) -> None:
    """Schedule, move or withdraw the reminders, and tell the business."""
    await reminders.follow(connection, change, business)
    await notices.follow(connection, change)


__all__ = ["follow"]
