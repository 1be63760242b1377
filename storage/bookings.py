"""Our mirror of confirmed bookings: recorded with the fiche in one transaction, listed and
cancelled only by their owner."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.fiches import ensure_user, save_details
from storage.models import Booking

if TYPE_CHECKING:
    from bot.config import BusinessConfig
    from providers.base import Booking as ProviderBooking


async def record_confirmed(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    first_name: str,
    telegram_language: str | None,
    business: BusinessConfig,
    business_id: int,
    result: ProviderBooking,
    service_name: str,
    resource_name: str | None,
    price: tuple[Decimal, str] | None,
    selection: dict[str, Any],
    idempotency_key: str,
    fiche_id: int | None,
    label: str,
    details: dict[str, str],
    now: datetime,
) -> Booking:
    await ensure_user(session, user_id, first_name, telegram_language)
    fiche = await save_details(
        session,
        user_id=user_id,
        business_id=business_id,
        fiche_id=fiche_id,
        label=label,
        details=details,
        provider_ref=result.customer_ref,
    )
    row = Booking(
        user_id=user_id,
        chat_id=chat_id,
        business_id=business_id,
        fiche_id=fiche.id,
        provider_ref=result.ref,
        service_name=service_name[:200],
        resource_name=(resource_name or None) and resource_name[:200],
        customer_name=f"{fiche.first_name} {fiche.last_name}".strip()[:400],
        start_at=result.start,
        end_at=result.end,
        price_amount=price[0] if price else None,
        currency=price[1] if price else None,
        selection=selection,
        idempotency_key=idempotency_key,
    )
    session.add(row)
    await session.flush()
    from bot.delivery_hooks import booking_confirmed

    await booking_confirmed(session, row, business, now)
    return row


async def owned(session: AsyncSession, booking_id: int, user_id: int) -> Booking | None:
    """The booking if, and only if, it belongs to ``user_id``."""
    row = await session.get(Booking, booking_id)
    if row is None or row.user_id != user_id:
        return None
    return row


async def upcoming(
    session: AsyncSession, user_id: int, now: datetime, limit: int = 10
) -> list[Booking]:
    return list(
        await session.scalars(
            select(Booking)
            .where(Booking.user_id == user_id, Booking.status == "confirmed", Booking.end_at > now)
            .order_by(Booking.start_at)
            .limit(limit)
        )
    )


async def mark_cancelled(session: AsyncSession, row: Booking, now: datetime) -> None:
    row.status = "cancelled"
    row.cancelled_at = now
    await session.flush()
    from bot.delivery_hooks import booking_cancelled

    await booking_cancelled(session, row)


async def moved(
    session: AsyncSession,
    booking_id: int,
    start: datetime,
    end: datetime,
    business: BusinessConfig,
    now: datetime,
) -> None:
    row = await session.get(Booking, booking_id)
    if row is None:
        return
    row.start_at = start
    row.end_at = end
    await session.flush()
    from bot.delivery_hooks import booking_moved

    await booking_moved(session, row, business, now)
