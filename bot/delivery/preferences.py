"""A customer's delivery choices per business, and who counts as a business's customer."""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.delivery_models import DeliveryPreference
from storage.models import Booking, Business, Fiche


async def get_preference(
    session: AsyncSession, user_id: int, business_id: int
) -> tuple[bool, bool]:
    """(reminders on, news on) for this user and business; both on when never set."""
    row = await session.get(DeliveryPreference, (user_id, business_id))
    return (True, True) if row is None else (row.reminders, row.news)


async def set_preference(
    session: AsyncSession,
    user_id: int,
    business_id: int,
    *,
    reminders: bool | None = None,
    news: bool | None = None,
) -> DeliveryPreference:
    """Change one or both switches (inside the caller's transaction)."""
    row = await session.get(DeliveryPreference, (user_id, business_id))
    if row is None:
        row = DeliveryPreference(
            user_id=user_id, business_id=business_id, reminders=True, news=True
        )
        session.add(row)
    if reminders is not None:
        row.reminders = reminders
    if news is not None:
        row.news = news
    return row


def is_customer(user_id: ColumnElement[int], business_id: int) -> ColumnElement[bool]:
    """SQL condition: the user has a booking or a fiche at this business."""
    return or_(
        exists().where(and_(Booking.user_id == user_id, Booking.business_id == business_id)),
        exists().where(and_(Fiche.user_id == user_id, Fiche.business_id == business_id)),
    )


async def customer_businesses(session: AsyncSession, user_id: int) -> list[Business]:
    """The businesses this user is a customer of, by name."""
    ids = (
        select(Booking.business_id)
        .where(Booking.user_id == user_id)
        .union(select(Fiche.business_id).where(Fiche.user_id == user_id))
    )
    rows = await session.scalars(
        select(Business).where(Business.id.in_(ids.scalar_subquery())).order_by(Business.name)
    )
    return list(rows)
