"""``/export [YYYY-MM-DD YYYY-MM-DD]``: the bookings of each business the admin administers, as
a CSV document and an iCalendar (.ics) feed of them (the ``icalendar`` package), a feature on
the engine. Without dates: from 30 days ago to 90 days ahead. Every export is audited."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import texts
from bot.admin.guard import roles_for
from bot.admin.period import period_argument
from bot.admin.rights import administered
from bot.engine.features import Feature
from bot.engine.turn import Turn
from bot.engine.types import Document
from storage import audit
from storage.models import Booking, Business, Fiche

if TYPE_CHECKING:
    from bot.engine.engine import Engine

COLUMNS = (
    "booking",
    "start",
    "end",
    "service",
    "staff",
    "customer",
    "phone",
    "email",
    "price",
    "currency",
    "status",
)


@dataclass(frozen=True)
class Row:
    booking: Booking
    phone: str | None
    email: str | None


class Export(Feature):
    commands: ClassVar[tuple[str, ...]] = ("export",)

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if await roles_for(turn, command, argument) is None:
            return
        period = period_argument(turn, argument, before=30, after=90, usage=texts.EXPORT_USAGE)
        if period is None:
            return
        first, last = period
        async with turn.services.sessions() as session, session.begin():
            for business in await administered(session, turn.event.user_id):
                rows = await _rows(session, business, first, last)
                stem = f"{business.slug}-{first.isoformat()}-{last.isoformat()}"
                turn.documents.append(Document(f"{stem}.csv", to_csv(rows, business).encode()))
                turn.documents.append(Document(f"{stem}.ics", to_ics(rows, business)))
                await audit.record(
                    session,
                    actor_id=turn.event.user_id,
                    action="export",
                    business_id=business.id,
                    detail={"from": first.isoformat(), "to": last.isoformat(), "rows": len(rows)},
                    now=turn.now,
                )
        turn.show(turn.t(texts.EXPORT_DONE, first=first.isoformat(), last=last.isoformat()))


async def _rows(session: AsyncSession, business: Business, first: date, last: date) -> list[Row]:
    zone = ZoneInfo(business.timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    result = await session.execute(
        select(Booking, Fiche.phone, Fiche.email)
        .outerjoin(Fiche, Fiche.id == Booking.fiche_id)
        .where(
            Booking.business_id == business.id,
            Booking.start_at >= start,
            Booking.start_at < end,
        )
        .order_by(Booking.start_at, Booking.id)
    )
    return [Row(booking, phone, email) for booking, phone, email in result]


def to_csv(rows: list[Row], business: Business) -> str:
    """The bookings as CSV, times in the business's zone (ISO 8601 with the offset)."""
    zone = ZoneInfo(business.timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        b = row.booking
        writer.writerow(
            [
                b.id,
                b.start_at.astimezone(zone).isoformat(),
                b.end_at.astimezone(zone).isoformat(),
                b.service_name,
                b.resource_name or "",
                b.customer_name,
                row.phone or "",
                row.email or "",
                "" if b.price_amount is None else str(b.price_amount),
                b.currency or "",
                b.status,
            ]
        )
    return out.getvalue()


def to_ics(rows: list[Row], business: Business) -> bytes:
    """The bookings as an iCalendar feed: one VEVENT each (cancelled ones marked so)."""
    calendar = Calendar()
    calendar.add("prodid", "-//bookbot//export//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", business.name)
    for row in rows:
        b = row.booking
        event = Event()
        event.add("uid", f"booking-{b.id}@{business.slug}.bookbot")
        event.add("dtstamp", b.created_at or b.start_at)
        event.add("dtstart", b.start_at)
        event.add("dtend", b.end_at)
        staff = f" ({b.resource_name})" if b.resource_name else ""
        event.add("summary", f"{b.service_name}{staff}: {b.customer_name}")
        contact = " · ".join(part for part in (row.phone, row.email) if part)
        if contact:
            event.add("description", contact)
        event.add("status", "CANCELLED" if b.status == "cancelled" else "CONFIRMED")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


__all__ = ["COLUMNS", "Export", "to_csv", "to_ics"]
