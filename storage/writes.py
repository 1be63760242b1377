"""What a turn's writes are: functions of one SQLAlchemy connection, run by the bot engine in the
transaction that also stores the conversation state, on SQLite and PostgreSQL alike.

A write runs Core statements (no ORM objects to load or flush) and may answer with the booking
it confirmed, moved or cancelled (:class:`BookingChange`): the engine then schedules or withdraws
that booking's reminders (``bot.delivery.reminders``) in the same transaction, so storage never
calls up into the bot.

Reads the engine makes outside a turn's transaction take a :class:`Database` (the bot's
``Services`` is one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from storage.bookings import BookingView


@dataclass(frozen=True, slots=True)
class BookingChange:
    """A booking a write confirmed, moved to a new time or cancelled, as stored by it."""

    kind: Literal["confirmed", "moved", "cancelled"]
    booking: BookingView
    #: the time the change was made (reminders already past at that time are not scheduled)
    now: datetime


#: A write inside a transaction the caller begins and commits.
Write = Callable[[AsyncConnection], Awaitable["BookingChange | None"]]


class Database(Protocol):
    """Where reads go: the bot's database, in autocommit mode where the database has one
    (:func:`storage.db.autocommit`: a read needs no transaction around it)."""

    @property
    def autocommit_engine(self) -> AsyncEngine: ...


__all__ = ["BookingChange", "Database", "Write"]
