"""Our mirror of confirmed bookings: recorded with the fiche in one transaction, listed and
cancelled only by their owner.

The operations every booking runs have an SQLAlchemy form (PostgreSQL, and SQLite without a
fast lane) and a fast-lane form (``*_fast``, SQLite, see :mod:`storage.fastlane`) side by side,
with the same SQL, the same stored values and the same ownership rules; the tests compare rows
written by each. Reads return :class:`BookingView` on both paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.fastlane import from_db_datetime, from_db_json, to_db_datetime, to_db_json
from storage.fiches import ensure_user, ensure_user_fast, save_details, save_details_fast
from storage.models import Booking
from storage.sqlite_inline import Connection
from storage.writes import Database, Write

if TYPE_CHECKING:
    from bot.config import BusinessConfig
    from providers.base import Booking as ProviderBooking


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking as read (either path); read-only, detached from any session."""

    id: int
    user_id: int
    chat_id: int
    business_id: int
    fiche_id: int | None
    provider_ref: str
    service_name: str
    resource_name: str | None
    customer_name: str
    start_at: datetime
    end_at: datetime
    status: str
    selection: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: Booking) -> BookingView:
        """The view of an ORM row."""
        return cls(*(getattr(row, name) for name in _VIEW_COLUMNS))

    @classmethod
    def from_lane(cls, row: Sequence[Any]) -> BookingView:
        """The view of a fast-lane row selected with :data:`_LANE_VIEW_COLUMNS`."""
        values = list(row)
        values[_START] = from_db_datetime(values[_START])
        values[_END] = from_db_datetime(values[_END])
        values[_SELECTION] = from_db_json(values[_SELECTION]) or {}
        return cls(*values)


_VIEW_COLUMNS = tuple(BookingView.__dataclass_fields__)
_START, _END, _SELECTION = (_VIEW_COLUMNS.index(c) for c in ("start_at", "end_at", "selection"))
_LANE_VIEW_COLUMNS = ", ".join(_VIEW_COLUMNS)


# -- recording a confirmed booking -----------------------------------------------------------
@dataclass(frozen=True)
class Confirmed:
    """What the confirm step knows about a booking the platform just confirmed."""

    user_id: int
    chat_id: int
    first_name: str
    telegram_language: str | None
    business: BusinessConfig
    business_id: int
    result: ProviderBooking
    service_name: str
    resource_name: str | None
    price: tuple[Decimal, str] | None
    selection: dict[str, Any]
    idempotency_key: str
    fiche_id: int | None
    label: str
    details: dict[str, str]
    now: datetime

    def row_values(self, fiche_id: int, first_name: str, last_name: str) -> dict[str, Any]:
        """The booking row's columns (as the ORM sees them) once its fiche is saved; both
        paths store exactly these. ``created_at`` and ``cancelled_at`` are left to the schema."""
        return {
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "business_id": self.business_id,
            "fiche_id": fiche_id,
            "provider_ref": self.result.ref,
            "service_name": self.service_name[:200],
            "resource_name": (self.resource_name or None) and self.resource_name[:200],
            "customer_name": f"{first_name} {last_name}".strip()[:400],
            "start_at": self.result.start,
            "end_at": self.result.end,
            "price_amount": self.price[0] if self.price else None,
            "currency": self.price[1] if self.price else None,
            "status": "confirmed",
            "selection": self.selection,
            "idempotency_key": self.idempotency_key,
        }

    def fiche_arguments(self) -> dict[str, Any]:
        """What :func:`storage.fiches.save_details` (either form) is given for this booking."""
        return {
            "user_id": self.user_id,
            "business_id": self.business_id,
            "fiche_id": self.fiche_id,
            "label": self.label,
            "details": self.details,
            "provider_ref": self.result.customer_ref,
        }


async def record_confirmed(session: AsyncSession, booking: Confirmed) -> Booking:
    """Store the booking with its user, fiche and reminders (the caller's transaction)."""
    await ensure_user(session, booking.user_id, booking.first_name, booking.telegram_language)
    fiche = await save_details(session, **booking.fiche_arguments())
    row = Booking(**booking.row_values(fiche.id, fiche.first_name, fiche.last_name))
    session.add(row)
    await session.flush()
    from bot.delivery_hooks import booking_confirmed

    await booking_confirmed(session, row, booking.business, booking.now)
    return row


@cache
def _insert_booking_sql(columns: tuple[str, ...]) -> str:
    """The lane's insert of the columns :meth:`Confirmed.row_values` gives (built once)."""
    return (
        f"INSERT INTO bookings ({', '.join(columns)}) "  # noqa: S608 (column names only)
        f"VALUES ({', '.join('?' * len(columns))}) RETURNING id"
    )


def _lane_value(name: str, value: Any) -> Any:
    """A booking column's value in the form SQLAlchemy binds it on SQLite."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_db_datetime(value)
    if name == "selection":
        return to_db_json(value)
    if isinstance(value, Decimal):
        return float(value)  # SQLAlchemy's Numeric on SQLite binds a float
    return value


async def record_confirmed_fast(connection: Connection, booking: Confirmed) -> BookingView:
    """:func:`record_confirmed` on the fast lane (inside the caller's lane transaction)."""
    await ensure_user_fast(
        connection, booking.user_id, booking.first_name, booking.telegram_language
    )
    fiche = await save_details_fast(connection, **booking.fiche_arguments())
    values = booking.row_values(fiche.id, fiche.first_name, fiche.last_name)
    cursor = await connection.execute(
        _insert_booking_sql(tuple(values)),
        tuple(_lane_value(name, value) for name, value in values.items()),
    )
    booking_id: int = (await cursor.fetchone())[0]
    await cursor.close()
    view = BookingView(id=booking_id, **{c: values[c] for c in _VIEW_COLUMNS if c != "id"})
    from bot.delivery_hooks import booking_confirmed_fast

    await booking_confirmed_fast(connection, view, booking.business, booking.now)
    return view


def record(booking: Confirmed) -> Write:
    """The write of a tap on Confirm: booking, user, fiche and reminders."""

    async def on_session(session: AsyncSession) -> None:
        await record_confirmed(session, booking)

    async def on_lane(connection: Connection) -> None:
        await record_confirmed_fast(connection, booking)

    return Write(session=on_session, lane=on_lane)


# -- reading -----------------------------------------------------------------------------------
_LANE_OWNED = f"SELECT {_LANE_VIEW_COLUMNS} FROM bookings WHERE id = ? AND user_id = ?"  # noqa: S608
_LANE_UPCOMING = (
    f"SELECT {_LANE_VIEW_COLUMNS} FROM bookings "  # noqa: S608 (column names, no input)
    "WHERE user_id = ? AND status = 'confirmed' AND end_at > ? ORDER BY start_at LIMIT ?"
)


async def _owned_row(session: AsyncSession, booking_id: int, user_id: int) -> Booking | None:
    row = await session.get(Booking, booking_id)
    if row is None or row.user_id != user_id:
        return None
    return row


async def owned(db: Database, booking_id: int, user_id: int) -> BookingView | None:
    """The booking if, and only if, it belongs to ``user_id``."""
    lane = db.fastlane
    if lane is not None:
        found = await lane.fetchone(_LANE_OWNED, (booking_id, user_id))
        return None if found is None else BookingView.from_lane(found)
    async with db.sessions() as session:
        row = await _owned_row(session, booking_id, user_id)
        return None if row is None else BookingView.of(row)


async def upcoming(db: Database, user_id: int, now: datetime, limit: int = 10) -> list[BookingView]:
    """``user_id``'s confirmed bookings that have not ended, soonest first."""
    lane = db.fastlane
    if lane is not None:
        rows = await lane.fetchall(_LANE_UPCOMING, (user_id, to_db_datetime(now), limit))
        return [BookingView.from_lane(row) for row in rows]
    async with db.sessions() as session:
        found = await session.scalars(
            select(Booking)
            .where(Booking.user_id == user_id, Booking.status == "confirmed", Booking.end_at > now)
            .order_by(Booking.start_at)
            .limit(limit)
        )
        return [BookingView.of(row) for row in found]


# -- cancelling --------------------------------------------------------------------------------
async def mark_cancelled(session: AsyncSession, row: Booking, now: datetime) -> None:
    row.status = "cancelled"
    row.cancelled_at = now
    await session.flush()
    from bot.delivery_hooks import booking_cancelled

    await booking_cancelled(session, row)


async def cancel_owned(session: AsyncSession, booking_id: int, user_id: int, now: datetime) -> bool:
    """Cancel ``user_id``'s confirmed booking and withdraw its reminders; ``False`` (and
    nothing changed) if it is not theirs or not confirmed. Ownership is checked here, in the
    writing transaction."""
    row = await _owned_row(session, booking_id, user_id)
    if row is None or row.status != "confirmed":
        return False
    await mark_cancelled(session, row, now)
    return True


_LANE_CANCEL = (
    "UPDATE bookings SET status = 'cancelled', cancelled_at = ? "
    "WHERE id = ? AND user_id = ? AND status = 'confirmed'"
)


async def cancel_owned_fast(
    connection: Connection, booking_id: int, user_id: int, now: datetime
) -> bool:
    """:func:`cancel_owned` on the fast lane: one conditional update does the checks."""
    cursor = await connection.execute(_LANE_CANCEL, (to_db_datetime(now), booking_id, user_id))
    changed = cursor.rowcount == 1
    await cursor.close()
    if changed:
        from bot.delivery_hooks import booking_cancelled_fast

        await booking_cancelled_fast(connection, booking_id)
    return changed


def cancel(booking_id: int, user_id: int, now: datetime) -> Write:
    """The write of "Yes, cancel it" in /mybookings."""

    async def on_session(session: AsyncSession) -> None:
        await cancel_owned(session, booking_id, user_id, now)

    async def on_lane(connection: Connection) -> None:
        await cancel_owned_fast(connection, booking_id, user_id, now)

    return Write(session=on_session, lane=on_lane)


# -- rescheduling ------------------------------------------------------------------------------
async def moved(
    session: AsyncSession,
    booking_id: int,
    start: datetime,
    end: datetime,
    business: BusinessConfig,
    now: datetime,
) -> None:
    """Move the booking (the platform already moved the appointment) and its reminders."""
    row = await session.get(Booking, booking_id)
    if row is None:
        return
    row.start_at = start
    row.end_at = end
    await session.flush()
    from bot.delivery_hooks import booking_moved

    await booking_moved(session, row, business, now)


_LANE_MOVE = (
    "UPDATE bookings SET start_at = ?, end_at = ? "  # noqa: S608 (column names, no input)
    f"WHERE id = ? RETURNING {_LANE_VIEW_COLUMNS}"
)


async def moved_fast(
    connection: Connection,
    booking_id: int,
    start: datetime,
    end: datetime,
    business: BusinessConfig,
    now: datetime,
) -> None:
    """:func:`moved` on the fast lane."""
    cursor = await connection.execute(
        _LANE_MOVE, (to_db_datetime(start), to_db_datetime(end), booking_id)
    )
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        return
    from bot.delivery_hooks import booking_moved_fast

    await booking_moved_fast(connection, BookingView.from_lane(row), business, now)


def move(
    booking_id: int, start: datetime, end: datetime, business: BusinessConfig, now: datetime
) -> Write:
    """The write of a tap on Confirm that moved a booking to a new time."""

    async def on_session(session: AsyncSession) -> None:
        await moved(session, booking_id, start, end, business, now)

    async def on_lane(connection: Connection) -> None:
        await moved_fast(connection, booking_id, start, end, business, now)

    return Write(session=on_session, lane=on_lane)
