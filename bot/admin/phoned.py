"""Bookings for customers who phoned: ``/enter [business] <service> <staff> <YYYY-MM-DD>
<HH:MM> <phone> <name>`` (business admins; the local calendar) books the time on the calendar
and in our mirror, for a placeholder user with no chat, and answers with a deep link
``t.me/<bot>?start=claim-<token>`` to give the customer: opening it moves the booking to them
(``/mybookings``, reminders). A feature on the engine.

The claim comes as ``/start claim-<token>``: this feature answers ``/start``, and hands every
other ``/start`` to the engine's own answer unchanged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.admin import texts
from bot.admin.guard import roles_for
from bot.admin.rights import administered
from bot.delivery import notices, reminders
from bot.engine.commands import command as engine_command
from bot.engine.features import Feature
from bot.engine.turn import Turn
from bot.engine.validation import InvalidInput, clean_name, clean_phone, phone_region
from bot.i18n import format_clock, format_day
from providers.base import Booking as ProviderBooking
from providers.base import CustomerDetails, NotFound, Selection, Slot, SlotTaken
from storage import audit
from storage.admin_models import BookingClaim
from storage.bookings import BookingView, Confirmed, record_confirmed
from storage.fiches import ensure_user
from storage.models import Booking, Business, Fiche, LocalService, LocalStaff, User
from storage.writes import BookingChange, Write

if TYPE_CHECKING:
    from bot.engine.engine import Engine

CLAIM_PREFIX = "claim-"


class PhonedIn(Feature):
    commands: ClassVar[tuple[str, ...]] = ("enter", "start")

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if command == "start":
            if argument.startswith(CLAIM_PREFIX):
                await _claim(turn, argument.removeprefix(CLAIM_PREFIX))
            else:
                await engine_command(turn, command, argument)
            return
        if await roles_for(turn, command, argument) is None:
            return
        await _enter(turn, argument.split())


@dataclass(frozen=True)
class _Entry:
    """What an admin typed after ``/enter``, checked: the time to book and for whom."""

    business: Business
    service: LocalService
    staff: LocalStaff
    start: datetime
    phone: str
    name: str


async def _enter(turn: Turn, words: list[str]) -> None:
    entry = await _read_entry(turn, words)
    if entry is None:
        return
    service, staff = entry.service, entry.staff
    first, _, last = entry.name.partition(" ")
    end = entry.start + timedelta(minutes=service.duration_minutes)
    selection = Selection({"service": (str(service.id),), "staff": (str(staff.id),)})
    slot = Slot(
        f"{staff.id}@{entry.start.isoformat()}", entry.start, end, str(staff.id), staff.name
    )
    customer = CustomerDetails(first_name=first, last_name=last, phone=entry.phone)
    try:
        booked = await turn.services.providers[entry.business.slug].book(selection, slot, customer)
    except (SlotTaken, NotFound):
        turn.show(turn.t(texts.ENTER_NOT_FREE))
        return
    token = secrets.token_urlsafe(16)[:22]
    turn.writes.append(_record_entry(turn, entry, booked, token))
    _show_entered(turn, entry, booked, token)


async def _read_entry(turn: Turn, words: list[str]) -> _Entry | None:
    """The checked entry, or None once the admin has been told what is wrong (usage, or a
    business not on the local calendar)."""
    async with turn.services.sessions() as session:
        businesses = await administered(session, turn.event.user_id)
        by_slug = {b.slug: b for b in businesses}
        if words and words[0] in by_slug:
            business = by_slug[words.pop(0)]
        elif len(businesses) == 1:
            business = businesses[0]
        else:
            turn.show(turn.t(texts.ENTER_USAGE))
            return None
        if business.provider_kind != "local":
            turn.show(turn.t(texts.ENTER_NOT_LOCAL, business=business.name))
            return None
        if len(words) < 6:
            turn.show(turn.t(texts.ENTER_USAGE))
            return None
        service = await session.scalar(
            select(LocalService).where(
                LocalService.business_id == business.id, LocalService.key == words[0]
            )
        )
        staff = await session.scalar(
            select(LocalStaff).where(
                LocalStaff.business_id == business.id, LocalStaff.key == words[1]
            )
        )
    zone = turn.services.business(business.slug).zone
    try:
        day, clock = date.fromisoformat(words[2]), time.fromisoformat(words[3])
        phone = clean_phone(words[4], phone_region(zone))
        name = clean_name(" ".join(words[5:]))
    except InvalidInput as bad:
        turn.show(turn.t(bad.message_id, **bad.kwargs) + "\n" + turn.t(texts.ENTER_USAGE))
        return None
    except ValueError:
        turn.show(turn.t(texts.ENTER_USAGE))
        return None
    if service is None or staff is None:
        turn.show(turn.t(texts.ENTER_USAGE))
        return None
    return _Entry(business, service, staff, datetime.combine(day, clock, zone), phone, name)


def _record_entry(turn: Turn, entry: _Entry, booked: ProviderBooking, token: str) -> Write:
    """The turn's write: the booking in our mirror for a placeholder user, its claim token,
    the audit line and the business's notice."""
    first, _, last = entry.name.partition(" ")
    service_id, staff_id = str(entry.service.id), str(entry.staff.id)
    business_id = entry.business.id
    confirmed = Confirmed(
        user_id=-1 - secrets.randbelow(2**62),  # the placeholder until the customer claims it
        chat_id=0,
        first_name="",
        telegram_language=None,
        business_id=business_id,
        result=booked,
        service_name=booked.service_name,
        resource_name=booked.resource_name,
        price=(booked.price.amount, booked.price.currency) if booked.price else None,
        selection={"service": [service_id], "staff": [staff_id]},
        idempotency_key=f"phoned-{token}",
        fiche_id=None,
        label="",
        details={"first_name": first, "last_name": last, "phone": entry.phone},
        now=turn.now,
    )
    actor, now = turn.event.user_id, turn.now

    async def write(connection: AsyncConnection) -> BookingChange | None:
        view = await record_confirmed(connection, confirmed)
        await connection.execute(
            insert(BookingClaim).values(
                token=token, booking_id=view.id, created_by=actor, created_at=now
            )
        )
        await audit.record(
            connection, actor_id=actor, action="enter", business_id=business_id,
            detail={"booking": view.id}, now=now,
        )  # fmt: skip
        # the business is told as for any booking; reminders wait for the claim (no chat yet)
        await notices.follow(connection, BookingChange("confirmed", view, now))
        return None

    return write


def _show_entered(turn: Turn, entry: _Entry, booked: ProviderBooking, token: str) -> None:
    """Tell the admin what was booked, with the link to hand the customer."""
    local = entry.start.astimezone(turn.services.business(entry.business.slug).zone)
    username = turn.services.extra.get("bot_username")
    link = f"https://t.me/{username}?start={CLAIM_PREFIX}{token}" if username else ""
    turn.show(
        turn.t(
            texts.ENTERED,
            customer=entry.name,
            service=booked.service_name,
            staff=booked.resource_name or "—",
            day=format_day(local.date(), turn.language),
            time=format_clock(local, turn.language),
            link=link or f"/start {CLAIM_PREFIX}{token}",
        )
    )


async def _claim(turn: Turn, token: str) -> None:
    async with turn.services.sessions() as session:
        claim = await session.get(BookingClaim, token) if token else None
        booking = await session.get(Booking, claim.booking_id) if claim else None
    if claim is None or booking is None or booking.user_id >= 0:
        turn.show(turn.t(texts.CLAIM_UNKNOWN))
        return
    event, now = turn.event, turn.now
    business = turn.services.business(turn.services.business_slugs[booking.business_id])
    placeholder = booking.user_id

    async def write(connection: AsyncConnection) -> BookingChange | None:
        taken = await connection.execute(delete(BookingClaim).where(BookingClaim.token == token))
        if not getattr(taken, "rowcount", 0):
            return None  # claimed meanwhile
        await ensure_user(connection, event.user_id, event.first_name, event.telegram_language)
        await connection.execute(
            update(Fiche).where(Fiche.user_id == placeholder).values(user_id=event.user_id)
        )
        await connection.execute(
            update(Booking)
            .where(Booking.id == booking.id)
            .values(user_id=event.user_id, chat_id=event.chat_id)
        )
        await connection.execute(delete(User).where(User.id == placeholder))
        view = BookingView(
            id=booking.id, user_id=event.user_id, chat_id=event.chat_id,
            business_id=booking.business_id, fiche_id=booking.fiche_id,
            provider_ref=booking.provider_ref, service_name=booking.service_name,
            resource_name=booking.resource_name, customer_name=booking.customer_name,
            start_at=booking.start_at, end_at=booking.end_at, status=booking.status,
        )  # fmt: skip
        await reminders.schedule_for_booking(connection, view, business, now)
        return None

    turn.writes.append(write)
    turn.show(turn.t(texts.CLAIMED, business=business.name))


__all__ = ["CLAIM_PREFIX", "PhonedIn"]
