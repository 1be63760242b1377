"""The schedule views: ``/today``, ``/tomorrow``, ``/week`` and ``/bookings <YYYY-MM-DD>``, a
feature on the engine. For each booking: time, service, staff, customer name and phone, from
our bookings mirror (every provider's bookings made through the bot are in it), ten to a page.

An admin sees their business's whole schedule, a staff member only their own ("my schedule":
the bookings whose staff is theirs, :meth:`bot.admin.rights.Roles.staff_filter`). Someone with
several businesses picks one first. The pages' buttons are the engine's tokens; the role is
read again at every tap. Each view is an admin action, recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import texts
from bot.admin.calendar import open_action
from bot.admin.guard import roles_for
from bot.admin.rights import Roles, roles_of, with_schedule
from bot.engine.features import Feature
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_clock, format_short_day
from storage import audit
from storage.models import Booking, Business, Fiche

if TYPE_CHECKING:
    from bot.engine.engine import Engine

PAGE = 10
_DAYS = {"today": (0, 1), "tomorrow": (1, 1), "week": (0, 7)}


@dataclass(frozen=True)
class View:
    """Which part of which business's schedule: ``days`` days from ``first``, page ``page``."""

    business_id: int
    first: date
    days: int
    page: int = 0

    def action(self, page: int | None = None) -> str:
        return f"v:{self.business_id}:{self.first.isoformat()}:{self.days}:{page or 0}"

    @staticmethod
    def parse(action: str) -> View | None:
        parts = action.split(":")
        try:
            business_id, first, days, page = int(parts[0]), parts[1], int(parts[2]), int(parts[3])
            return View(business_id, date.fromisoformat(first), days, page)
        except (IndexError, ValueError):
            return None


class ScheduleViews(Feature):
    prefix: ClassVar[str] = "v"
    commands: ClassVar[tuple[str, ...]] = ("today", "tomorrow", "week", "bookings")

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        roles = await roles_for(turn, command, argument)
        if roles is None:
            return
        async with turn.services.sessions() as session:
            businesses = await with_schedule(session, roles)
        if not businesses:  # a role at a business since removed from the configuration
            turn.show(turn.t(texts.SCHEDULE_NONE))
            return
        if command == "bookings":
            try:
                first, days = date.fromisoformat(argument.strip()), 1
            except ValueError:
                turn.show(turn.t(texts.BOOKINGS_USAGE))
                return
        else:
            offset, days = _DAYS[command]
            # "today" in the first business's zone: the sample and most set-ups have one zone
            zone = ZoneInfo(businesses[0].timezone)
            first = turn.now.astimezone(zone).date() + timedelta(days=offset)
        if len(businesses) > 1:
            rows = [[MenuButton(b.name, View(b.id, first, days).action())] for b in businesses]
            turn.show(turn.t(texts.SCHEDULE_PICK_BUSINESS), rows)
            return
        await _show(turn, roles, View(businesses[0].id, first, days))

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        view = View.parse(action)
        async with turn.services.sessions() as session:
            roles = await roles_of(session, turn.event.user_id)
        if view is None or not roles.sees_schedule_of(view.business_id):
            turn.alert = turn.t("This menu has expired.")
            return
        await _show(turn, roles, view)


async def _show(turn: Turn, roles: Roles, view: View) -> None:
    async with turn.services.sessions() as session:
        business = await session.get(Business, view.business_id)
        if business is None or not roles.sees_schedule_of(view.business_id):
            turn.alert = turn.t("This menu has expired.")
            return
        staff = roles.staff_filter(business.id)
        lines = await _lines(turn, session, business, view, staff)
    turn.writes.append(
        audit.recorded(
            actor_id=turn.event.user_id,
            action="schedule",
            business_id=business.id,
            detail={"from": view.first.isoformat(), "days": view.days, "page": view.page},
            now=turn.now,
        )
    )
    last = view.first + timedelta(days=view.days - 1)
    span = format_short_day(view.first, turn.language)
    if view.days > 1:
        span += " – " + format_short_day(last, turn.language)
    title = turn.t(texts.SCHEDULE_TITLE, business=business.name, span=span)
    if staff:
        title = turn.t(texts.SCHEDULE_TITLE_STAFF, business=business.name, span=span, staff=staff)
    page = lines[view.page * PAGE : (view.page + 1) * PAGE]
    if not page:
        turn.show(title + "\n" + turn.t(texts.SCHEDULE_EMPTY))
        return
    # one button per booking opens it (cancel, no-show: bot.admin.calendar)
    rows = [[MenuButton(label, open_action(booking_id))] for _, label, booking_id in page]
    buttons = []
    if view.page:
        buttons.append(MenuButton(turn.t(texts.BUTTON_PREVIOUS), view.action(view.page - 1)))
    if len(lines) > (view.page + 1) * PAGE:
        buttons.append(MenuButton(turn.t(texts.BUTTON_NEXT), view.action(view.page + 1)))
    if buttons:
        rows.append(buttons)
    turn.show("\n".join([title, *(line for line, _, _ in page)]), rows)


async def _lines(
    turn: Turn, session: AsyncSession, business: Business, view: View, staff: str | None
) -> list[tuple[str, str, int]]:
    """(line, button label, booking id) of each booking of the view, in order."""
    zone = ZoneInfo(business.timezone)
    start = datetime.combine(view.first, time(0), zone)
    end = datetime.combine(view.first + timedelta(days=view.days), time(0), zone)
    query = (
        select(Booking, Fiche.phone)
        .outerjoin(Fiche, Fiche.id == Booking.fiche_id)
        .where(
            Booking.business_id == business.id,
            Booking.status == "confirmed",
            Booking.start_at >= start,
            Booking.start_at < end,
        )
        .order_by(Booking.start_at, Booking.id)
    )
    if staff is not None:
        query = query.where(Booking.resource_name == staff)
    lines = []
    for booking, phone in await session.execute(query):
        local = booking.start_at.astimezone(zone)
        when = format_clock(local, turn.language)
        if view.days > 1:
            when = f"{format_short_day(local.date(), turn.language)} {when}"
        parts = [when, booking.service_name, booking.resource_name or "—"]
        parts += [booking.customer_name or "—", phone or "—"]
        lines.append((" · ".join(parts), f"{when} · {booking.customer_name or '—'}", booking.id))
    return lines


__all__ = ["ScheduleViews", "View"]
