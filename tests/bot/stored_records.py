"""What the bot stored, read back the same way by every platform's test world."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.services import Services
from storage import conversations
from storage.delivery_models import Delivery
from storage.models import Booking, Fiche

#: The Telegram user (and private chat) the worlds' conversations are with.
USER_ID = 42


class StoredRecords:
    """Read-back helpers for a test world that holds the bot's ``services``."""

    services: Services

    async def state(self, user_id: int = USER_ID) -> dict[str, Any]:
        """The stored conversation state of ``user_id`` (in their private chat)."""
        async with self.services.engine.connect() as connection:
            record = await conversations.load(connection, user_id, user_id)
        return record.data

    async def fiches(self) -> list[Fiche]:
        async with self.services.sessions() as session:
            return list(await session.scalars(select(Fiche).order_by(Fiche.id)))

    async def bookings(self) -> list[Booking]:
        async with self.services.sessions() as session:
            return list(await session.scalars(select(Booking).order_by(Booking.id)))

    async def notices(self) -> list[str]:
        """The texts of the notices queued in the outbox (what the sweep tells users)."""
        async with self.services.sessions() as session:
            payloads = await session.scalars(
                select(Delivery.payload).where(Delivery.kind == "notice").order_by(Delivery.id)
            )
            return [str(p["text"]) for p in payloads]
