"""A customer's delivery choices per business, and who counts as a business's customer.

Reminders are on unless the customer turns them off; news (broadcasts) is off until the customer
says yes (consent: the confirmation of a first booking asks, and ``/settings`` switches it).
A row holds the customer's switches; news counts only once they answered about it
(``news_answered``: the consent's yes, or the news switch itself), since a row is also written
when only the reminders are switched. Rows from before news was opt-in count as answered when
news was switched off (their explicit no); a "yes" there was the old default, so it is asked
(migration 0004).
"""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.delivery_models import DeliveryPreference
from storage.models import Booking, Business, Fiche

#: what a customer who never chose gets
REMINDERS_BY_DEFAULT = True
NEWS_BY_DEFAULT = False


def switches(row: DeliveryPreference | None) -> tuple[bool, bool]:
    """(reminders on, news on) as stored in ``row``, or the defaults when there is none (or
    the customer never answered about news)."""
    if row is None:
        return REMINDERS_BY_DEFAULT, NEWS_BY_DEFAULT
    return row.reminders, (row.news if row.news_answered else NEWS_BY_DEFAULT)


async def get_preference(
    session: AsyncSession, user_id: int, business_id: int
) -> tuple[bool, bool]:
    """(reminders on, news on) for this user and business (see :func:`switches`)."""
    return switches(await session.get(DeliveryPreference, (user_id, business_id)))


async def answered_news(session: AsyncSession, user_id: int, business_id: int) -> bool:
    """Whether the user ever answered about this business's news (then it is not offered to
    them again)."""
    row = await session.get(DeliveryPreference, (user_id, business_id))
    return row is not None and row.news_answered


def wants_news(user_id: ColumnElement[int], business_id: int) -> ColumnElement[bool]:
    """SQL condition: the user said yes to this business's news (no row, or never answered:
    no)."""
    return exists().where(
        and_(
            DeliveryPreference.user_id == user_id,
            DeliveryPreference.business_id == business_id,
            DeliveryPreference.news.is_(true()),
            DeliveryPreference.news_answered.is_(true()),
        )
    )


async def set_preference(
    session: AsyncSession,
    user_id: int,
    business_id: int,
    *,
    reminders: bool | None = None,
    news: bool | None = None,
) -> DeliveryPreference:
    """Change one or both switches (inside the caller's transaction); setting ``news`` is the
    customer's answer about news."""
    row = await session.get(DeliveryPreference, (user_id, business_id))
    if row is None:
        row = DeliveryPreference(
            user_id=user_id,
            business_id=business_id,
            reminders=REMINDERS_BY_DEFAULT,
            news=NEWS_BY_DEFAULT,
            news_answered=False,
        )
        session.add(row)
    if reminders is not None:
        row.reminders = reminders
    if news is not None:
        row.news, row.news_answered = news, True
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
