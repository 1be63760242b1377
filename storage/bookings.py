"""Our mirror of confirmed bookings: recorded with the fiche in one transaction, listed and
cancelled only by their owner. Core statements on the caller's connection, the same on SQLite
and PostgreSQL; reads return :class:`BookingView`.

A write that confirms, moves or cancels a booking answers with a
:class:`~storage.writes.BookingChange`: the bot engine schedules or withdraws the booking's
reminders in the same transaction (storage does not call up into the bot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import connected
from storage.fiches import ensure_user, save_details
from storage.models import Booking
from storage.writes import BookingChange, Database, Write

if TYPE_CHECKING:
    from providers.base import Booking as ProviderBooking

_table = cast(Table, Booking.__table__)


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking as read; read-only, detached from any session."""

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


_VIEW_COLUMNS = tuple(BookingView.__dataclass_fields__)
_VIEW = [_table.c[name] for name in _VIEW_COLUMNS]


# -- recording a confirmed booking -----------------------------------------------------------
@dataclass(frozen=True)
class Confirmed:
    """What the confirm step knows about a booking the platform just confirmed."""

    user_id: int
    chat_id: int
    first_name: str
    telegram_language: str | None
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
        """The booking row's columns once its fiche is saved. ``created_at`` and
        ``cancelled_at`` are left to the schema."""
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
        """What :func:`storage.fiches.save_details` is given for this booking."""
        return {
            "user_id": self.user_id,
            "business_id": self.business_id,
            "fiche_id": self.fiche_id,
            "label": self.label,
            "details": self.details,
            "provider_ref": self.result.customer_ref,
        }


_INSERT = insert(_table).returning(_table.c.id)


async def record_confirmed(connection: AsyncConnection, booking: Confirmed) -> BookingView:
    """Store the booking with its user and fiche (the caller's transaction)."""
    await ensure_user(connection, booking.user_id, booking.first_name, booking.telegram_language)
    fiche = await save_details(connection, **booking.fiche_arguments())
    values = booking.row_values(fiche.id, fiche.first_name, fiche.last_name)
    booking_id = int((await connection.execute(_INSERT, values)).scalar_one())
    return BookingView(id=booking_id, **{c: values[c] for c in _VIEW_COLUMNS if c != "id"})


def record(booking: Confirmed) -> Write:
    """The write of a tap on Confirm: booking, user and fiche (and, through the change it
    answers with, the reminders)."""

    async def write(connection: AsyncConnection) -> BookingChange:
        view = await record_confirmed(connection, booking)
        return BookingChange("confirmed", view, booking.now)

    return write


# -- reading -----------------------------------------------------------------------------------
_OWNED = select(*_VIEW).where(
    _table.c.id == bindparam("p_id"), _table.c.user_id == bindparam("p_user")
)
_UPCOMING = (
    select(*_VIEW)
    .where(
        _table.c.user_id == bindparam("p_user"),
        _table.c.status == "confirmed",
        _table.c.end_at > bindparam("p_now", type_=_table.c.end_at.type),
    )
    .order_by(_table.c.start_at)
    .limit(bindparam("p_limit"))
)


async def owned(db: Database, booking_id: int, user_id: int) -> BookingView | None:
    """The booking if, and only if, it belongs to ``user_id``."""
    async with connected(db.autocommit_engine) as connection:
        row = (await connection.execute(_OWNED, {"p_id": booking_id, "p_user": user_id})).first()
        return None if row is None else BookingView(*row)


async def upcoming(db: Database, user_id: int, now: datetime, limit: int = 10) -> list[BookingView]:
    """``user_id``'s confirmed bookings that have not ended, soonest first."""
    async with connected(db.autocommit_engine) as connection:
        rows = await connection.execute(
            _UPCOMING, {"p_user": user_id, "p_now": now, "p_limit": limit}
        )
        return [BookingView(*row) for row in rows]


# -- cancelling --------------------------------------------------------------------------------
#: One conditional update checks ownership and status in the writing transaction.
_CANCEL = (
    update(_table)
    .where(
        _table.c.id == bindparam("p_id"),
        _table.c.user_id == bindparam("p_user"),
        _table.c.status == "confirmed",
    )
    .values(status="cancelled", cancelled_at=bindparam("p_now", type_=_table.c.cancelled_at.type))
    .returning(*_VIEW)
)


async def cancel_owned(
    connection: AsyncConnection, booking_id: int, user_id: int, now: datetime
) -> BookingView | None:
    """Cancel ``user_id``'s confirmed booking; ``None`` (and nothing changed) if it is not
    theirs or not confirmed."""
    row = (
        await connection.execute(_CANCEL, {"p_id": booking_id, "p_user": user_id, "p_now": now})
    ).first()
    return None if row is None else BookingView(*row)


def cancel(booking_id: int, user_id: int, now: datetime) -> Write:
    """The write of "Yes, cancel it" in /mybookings (its reminders are withdrawn with it)."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        view = await cancel_owned(connection, booking_id, user_id, now)
        return None if view is None else BookingChange("cancelled", view, now)

    return write


# -- rescheduling ------------------------------------------------------------------------------
_MOVE = (
    update(_table)
    .where(_table.c.id == bindparam("p_id"))
    .values(
        start_at=bindparam("p_start", type_=_table.c.start_at.type),
        end_at=bindparam("p_end", type_=_table.c.end_at.type),
    )
    .returning(*_VIEW)
)


async def moved(
    connection: AsyncConnection, booking_id: int, start: datetime, end: datetime
) -> BookingView | None:
    """Move the booking (the platform already moved the appointment); ``None`` if it is gone."""
    row = (
        await connection.execute(_MOVE, {"p_id": booking_id, "p_start": start, "p_end": end})
    ).first()
    return None if row is None else BookingView(*row)


def move(booking_id: int, start: datetime, end: datetime, now: datetime) -> Write:
    """The write of a tap on Confirm that moved a booking to a new time (its reminders move
    with it)."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        view = await moved(connection, booking_id, start, end)
        return None if view is None else BookingChange("moved", view, now)

    return write


# -- the business's own changes (bot/admin/calendar.py) ----------------------------------------
#: The same conditional update, for the business the booking belongs to (its admin acting).
_CANCEL_FOR_BUSINESS = (
    update(_table)
    .where(
        _table.c.id == bindparam("p_id"),
        _table.c.business_id == bindparam("p_business"),
        _table.c.status == "confirmed",
    )
    .values(status="cancelled", cancelled_at=bindparam("p_now", type_=_table.c.cancelled_at.type))
    .returning(*_VIEW)
)
_NO_SHOW = (
    update(_table)
    .where(
        _table.c.id == bindparam("p_id"),
        _table.c.business_id == bindparam("p_business"),
        _table.c.status == "confirmed",
        _table.c.start_at <= bindparam("p_now", type_=_table.c.start_at.type),
    )
    .values(status="no_show")
)
_OF_BUSINESS = select(*_VIEW).where(
    _table.c.id == bindparam("p_id"), _table.c.business_id == bindparam("p_business")
)


async def of_business(db: Database, booking_id: int, business_id: int) -> BookingView | None:
    """The booking if, and only if, it is ``business_id``'s."""
    async with db.autocommit_engine.connect() as connection:
        params = {"p_id": booking_id, "p_business": business_id}
        row = (await connection.execute(_OF_BUSINESS, params)).first()
        return None if row is None else BookingView(*row)


async def cancel_for_business(
    connection: AsyncConnection, booking_id: int, business_id: int, now: datetime
) -> BookingView | None:
    """Cancel ``business_id``'s confirmed booking (its admin did); ``None`` if it is not
    that business's or not confirmed."""
    params = {"p_id": booking_id, "p_business": business_id, "p_now": now}
    row = (await connection.execute(_CANCEL_FOR_BUSINESS, params)).first()
    return None if row is None else BookingView(*row)


async def mark_no_show(
    connection: AsyncConnection, booking_id: int, business_id: int, now: datetime
) -> bool:
    """Mark a confirmed booking of ``business_id`` that has started as a no-show."""
    params = {"p_id": booking_id, "p_business": business_id, "p_now": now}
    result = await connection.execute(_NO_SHOW, params)
    return bool(getattr(result, "rowcount", 0))
