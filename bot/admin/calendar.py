"""Managing bookings from the schedule (``/today``...): each booking's button opens it, with
Cancel (after a confirmation; the customer is told, in their language, through the outbox)
and No-show (once it has started); ``/move <number> <YYYY-MM-DD> <HH:MM>`` moves it (where the
platform can), the customer told likewise. A feature on the engine; the role is read again on every
tap: a business's admins may do both, its staff only No-show, and only on their own schedule.

Cancelling goes to the platform first (as the customer's own cancel does,
:func:`bot.engine.my_bookings.cancel_booking`), then to our mirror in the turn's write, whose
:class:`~storage.writes.BookingChange` withdraws the reminders and tells the business.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.admin import texts
from bot.admin.guard import roles_for
from bot.admin.notice_buttons import may_see
from bot.admin.rights import Roles, roles_of
from bot.delivery import notices
from bot.delivery import texts as delivery_texts
from bot.engine.features import Feature
from bot.engine.my_bookings import booking_selection, cancel_on_platform
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_clock, format_day, gettext, pick_language
from providers.base import CancelUnconfirmed, NotFound, SlotTaken
from storage import audit
from storage import bookings as booking_store
from storage.bookings import BookingView
from storage.models import Booking, User
from storage.writes import BookingChange, Write

if TYPE_CHECKING:
    from bot.engine.engine import Engine


def open_action(booking_id: int) -> str:
    """The schedule's button for one booking."""
    return f"k:o:{booking_id}"


class CalendarActions(Feature):
    prefix: ClassVar[str] = "k"
    commands: ClassVar[tuple[str, ...]] = ("move",)

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        """``/move <booking number> <YYYY-MM-DD> <HH:MM>`` (business admins)."""
        if await roles_for(turn, command, argument) is None:
            return
        words = argument.split()
        found = await _booking(turn, words[0].removeprefix("#")) if words else None
        try:
            day, clock = date.fromisoformat(words[1]), time.fromisoformat(words[2])
        except (IndexError, ValueError):
            found = None
        if found is None or not found[0].administers(found[1].business_id):
            turn.show(turn.t(texts.MOVE_USAGE))
            return
        if found[1].status != "confirmed":
            turn.show(turn.t(texts.MOVE_NOT_ACTIVE))
            return
        await move(turn, found[1], day, clock)

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        kind, _, raw = action.partition(":")
        found = await _booking(turn, raw)
        if found is None:
            turn.alert = turn.t("This menu has expired.")
            return
        roles, row = found
        if kind == "o":
            _show(turn, roles, row)
        elif kind == "x" and roles.administers(row.business_id) and row.status == "confirmed":
            turn.show(
                turn.t(texts.CANCEL_BOOKING_ASK, customer=row.customer_name or "—"),
                [
                    [MenuButton(turn.t(texts.BUTTON_CANCEL_BOOKING_YES), f"k:X:{row.id}")],
                    [MenuButton(turn.t(texts.BUTTON_BACK), f"k:o:{row.id}")],
                ],
            )
        elif kind == "X" and roles.administers(row.business_id) and row.status == "confirmed":
            await _cancel(turn, row)
        elif kind == "n" and row.status == "confirmed" and row.start_at <= turn.now:
            turn.writes.append(_no_show(turn, row))
            turn.show(turn.t(texts.NO_SHOW_DONE, customer=row.customer_name or "—"))
        else:
            turn.alert = turn.t("This menu has expired.")


async def _booking(turn: Turn, raw: str) -> tuple[Roles, BookingView] | None:
    """The booking an action names, if the tapper may see it (read on the server)."""
    if not raw.isdigit():
        return None
    async with turn.services.sessions() as session:
        roles = await roles_of(session, turn.event.user_id)
        booking = await session.get(Booking, int(raw))
        if booking is None or not may_see(roles, booking):
            return None
    row = await booking_store.of_business(turn.services, booking.id, booking.business_id)
    return None if row is None else (roles, row)


def _show(turn: Turn, roles: Roles, row: BookingView) -> None:
    business = turn.services.business(turn.services.business_slugs[row.business_id])
    local = row.start_at.astimezone(ZoneInfo(business.timezone))
    text = turn.t(
        texts.BOOKING_DETAIL,
        service=row.service_name,
        staff=row.resource_name or "—",
        day=format_day(local.date(), turn.language),
        time=format_clock(local, turn.language),
        customer=row.customer_name or "—",
        status=turn.t(texts.STATUSES.get(row.status, row.status)),
    )
    buttons = []
    if row.status == "confirmed" and roles.administers(row.business_id):
        buttons.append([MenuButton(turn.t(texts.BUTTON_CANCEL_BOOKING), f"k:x:{row.id}")])
        text += "\n" + turn.t(texts.MOVE_HINT, number=row.id)
    if row.status == "confirmed" and row.start_at <= turn.now:
        buttons.append([MenuButton(turn.t(texts.BUTTON_NO_SHOW), f"k:n:{row.id}")])
    turn.show(text, buttons)


async def _cancel(turn: Turn, row: BookingView) -> None:
    slug = turn.services.business_slugs[row.business_id]
    try:
        await cancel_on_platform(turn, row)
    except CancelUnconfirmed:
        turn.show(turn.t(texts.CANCEL_BOOKING_UNCONFIRMED))
        return
    language = await _customer_language(turn, row)
    business = turn.services.business(slug)
    local = row.start_at.astimezone(business.zone)
    day, clock = delivery_texts.when(local, language)
    told = gettext(
        language,
        texts.CANCELLED_BY_BUSINESS,
        service=row.service_name,
        business=business.name,
        day=day,
        time=clock,
    )
    actor, now = turn.event.user_id, turn.now

    async def write(connection: AsyncConnection) -> BookingChange | None:
        view = await booking_store.cancel_for_business(connection, row.id, row.business_id, now)
        if view is None:
            return None
        await notices.tell_customer(connection, view, told, now)
        await audit.record(
            connection,
            actor_id=actor,
            action="cancel",
            business_id=row.business_id,
            detail={"booking": row.id},
            now=now,
        )
        return BookingChange("cancelled", view, now)

    turn.writes.append(write)
    turn.show(turn.t(texts.CANCEL_BOOKING_DONE, customer=row.customer_name or "—"))


async def move(turn: Turn, row: BookingView, day: date, clock: time) -> None:
    """Move ``row`` to ``clock`` on ``day`` (the business's wall clock) on its platform, then
    in our mirror: its reminders move, the business is told, and so is the customer."""
    slug = turn.services.business_slugs[row.business_id]
    provider = turn.services.providers[slug]
    if not provider.supports_reschedule:
        turn.show(turn.t(texts.MOVE_NOT_SUPPORTED))
        return
    selection = booking_selection(turn, row)
    business = turn.services.business(slug)
    wanted = datetime.combine(day, clock, business.zone)
    slot = next((s for s in await provider.slots(selection, day) if s.start == wanted), None)
    if slot is None:
        turn.show(turn.t(texts.ENTER_NOT_FREE))
        return
    try:
        moved = await provider.reschedule(row.provider_ref, selection, slot)
    except (SlotTaken, NotFound):
        turn.show(turn.t(texts.ENTER_NOT_FREE))
        return
    language = await _customer_language(turn, row)
    when_day, when_time = delivery_texts.when(moved.start.astimezone(business.zone), language)
    told = gettext(
        language,
        texts.MOVED_BY_BUSINESS,
        service=row.service_name,
        business=business.name,
        day=when_day,
        time=when_time,
    )
    actor, now = turn.event.user_id, turn.now

    async def write(connection: AsyncConnection) -> BookingChange | None:
        view = await booking_store.moved(connection, row.id, moved.start, moved.end)
        if view is None:
            return None
        await notices.tell_customer(connection, view, told, now)
        await audit.record(
            connection, actor_id=actor, action="move", business_id=row.business_id,
            detail={"booking": row.id, "to": moved.start.isoformat()}, now=now,
        )  # fmt: skip
        return BookingChange("moved", view, now)

    turn.writes.append(write)
    local = moved.start.astimezone(business.zone)
    turn.show(
        turn.t(
            texts.MOVE_DONE,
            customer=row.customer_name or "—",
            day=format_day(local.date(), turn.language),
            time=format_clock(local, turn.language),
        )
    )


async def _customer_language(turn: Turn, row: BookingView) -> str:
    async with turn.services.sessions() as session:
        user = await session.get(User, row.user_id)
    return pick_language(
        user.language if user else None,
        user.telegram_language if user else None,
        turn.services.business(turn.services.business_slugs[row.business_id]).language,
    )


def _no_show(turn: Turn, row: BookingView) -> Write:
    actor, now = turn.event.user_id, turn.now

    async def write(connection: AsyncConnection) -> BookingChange | None:
        if await booking_store.mark_no_show(connection, row.id, row.business_id, now):
            await audit.record(
                connection,
                actor_id=actor,
                action="no_show",
                business_id=row.business_id,
                detail={"booking": row.id},
                now=now,
            )
        return None

    return write


__all__ = ["CalendarActions", "open_action"]
