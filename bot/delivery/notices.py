"""Notices to the business: a booking confirmed, moved or cancelled is told at once to the
business's admins and to the staff member concerned (who, what, when, contact), with buttons
to call or message the customer and to mute that kind of notice.

Like reminders they are outbox rows (kind ``business``) written in the booking change's own
transaction (:func:`bot.delivery.booking_changes.follow` calls :func:`follow` beside the
reminders' own), so a notice exists if and only if the change does, is sent by the
dispatcher (rate-limited, retried, never lost), and is rendered at send time: in the
recipient's language, with the booking as it is then, and not at all if the recipient muted
the kind meanwhile
(:class:`storage.admin_models.NoticeMute`).

Their buttons carry ``dn:<action>:...`` (no conversation sent them); the taps are
:class:`bot.admin.notice_buttons.NoticeButtons`', which checks the tapper's role on the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery import texts
from bot.delivery.outbox import Claimed, Result
from storage.admin_models import NoticeMute
from storage.delivery_models import PRIORITY_NOTICE, Delivery
from storage.models import Admin, Booking, Business, Fiche, User
from storage.writes import BookingChange

if TYPE_CHECKING:
    from storage.bookings import BookingView

#: Callback data prefix of the notices' buttons: ``dn:call:<booking id>``,
#: ``dn:mute:<kind>:<business id>``.
NOTICE_PREFIX = "dn"
KIND = "business"
CHANGES = ("confirmed", "moved", "cancelled")

_deliveries = cast(Table, Delivery.__table__)
_admins = cast(Table, Admin.__table__)


async def recipients(
    db: AsyncConnection | AsyncSession, business_id: int, staff: str | None
) -> list[int]:
    """Who is told about a booking of ``business_id`` with ``staff``: its admins, and the
    staff member whose schedule it is."""
    is_admin = _admins.c.role != "staff"
    is_their_staff = and_(_admins.c.role == "staff", _admins.c.staff_name == staff)
    rows = await db.execute(
        select(_admins.c.user_id)
        .where(_admins.c.business_id == business_id, or_(is_admin, is_their_staff))
        .distinct()
    )
    return sorted(int(user_id) for (user_id,) in rows)


async def follow(connection: AsyncConnection, change: BookingChange) -> None:
    """The notices a booking change calls for, in the change's own transaction."""
    booking = change.booking
    users = await recipients(connection, booking.business_id, booking.resource_name)
    if not users:
        return
    rows = [
        {
            "kind": KIND,
            "priority": PRIORITY_NOTICE,
            "business_id": booking.business_id,
            "user_id": user_id,
            "chat_id": user_id,  # a private chat's id is its user's
            "booking_id": booking.id,
            "payload": {"change": change.kind, "start": booking.start_at.isoformat()},
            "status": "pending",
            "attempts": 0,
            "due_at": change.now,
            "next_attempt_at": change.now,
        }
        for user_id in users
    ]
    await connection.execute(insert(_deliveries), rows)


async def tell_customer(
    connection: AsyncConnection, booking: BookingView, text: str, now: datetime
) -> None:
    """Owe the booking's customer a plain notice (their booking was cancelled by the
    business...), in the transaction of the change it tells about."""
    await connection.execute(
        insert(_deliveries).values(
            kind="notice",
            priority=PRIORITY_NOTICE,
            business_id=booking.business_id,
            user_id=booking.user_id,
            chat_id=booking.chat_id,
            booking_id=booking.id,
            payload={"text": text},
            status="pending",
            attempts=0,
            due_at=now,
            next_attempt_at=now,
        )
    )


@dataclass(frozen=True)
class _Found:
    booking: Booking
    business: Business
    phone: str | None


async def render_notices(
    session: AsyncSession, rows: Sequence[Claimed]
) -> list[tuple[Claimed, str, InlineKeyboardMarkup | None] | Result]:
    """The message of each claimed notice row, or why it is settled without one (muted,
    booking gone). One query per kind of thing the rows refer to."""
    booking_ids = {r.booking_id for r in rows if r.booking_id}
    found: dict[int, _Found] = {}
    if booking_ids:
        result = await session.execute(
            select(Booking, Business, Fiche.phone)
            .join(Business, Business.id == Booking.business_id)
            .outerjoin(Fiche, Fiche.id == Booking.fiche_id)
            .where(Booking.id.in_(booking_ids))
        )
        found = {b.id: _Found(b, biz, phone) for b, biz, phone in result}
    users = {r.user_id for r in rows}
    languages = {
        u.id: texts.language_of(u.language, u.telegram_language)
        for u in await session.scalars(select(User).where(User.id.in_(users)))
    }
    muted = {
        (m.user_id, m.business_id, m.kind)
        for m in await session.scalars(select(NoticeMute).where(NoticeMute.user_id.in_(users)))
    }
    out: list[tuple[Claimed, str, InlineKeyboardMarkup | None] | Result] = []
    for row in rows:
        change = str(row.payload.get("change", ""))
        item = found.get(row.booking_id or -1)
        if item is None:
            out.append(Result(row.id, "cancelled", error="booking gone"))
        elif (row.user_id, row.business_id, change) in muted:
            out.append(Result(row.id, "skipped", error="notices of this kind muted"))
        else:
            language = languages.get(row.user_id) or texts.language_of(None)
            out.append(
                (row, notice_text(language, change, item), _keyboard(language, change, item))
            )
    return out


_HEADLINES = {
    "confirmed": texts.NOTICE_CONFIRMED,
    "moved": texts.NOTICE_MOVED,
    "cancelled": texts.NOTICE_CANCELLED,
}


def notice_text(language: str, change: str, item: _Found) -> str:
    booking = item.booking
    local = booking.start_at.astimezone(ZoneInfo(item.business.timezone))
    day, clock = texts.when(local, language)
    lines = [
        texts._(
            language,
            _HEADLINES.get(change, texts.NOTICE_CONFIRMED),
            business=item.business.name,
        ),
        texts._(
            language,
            texts.NOTICE_WHAT,
            service=booking.service_name,
            staff=booking.resource_name or "—",
            day=day,
            time=clock,
        ),
        texts._(
            language,
            texts.NOTICE_WHO,
            customer=booking.customer_name or "—",
            phone=item.phone or "—",
        ),
    ]
    return "\n".join(lines)


def _keyboard(language: str, change: str, item: _Found) -> InlineKeyboardMarkup:
    booking = item.booking
    contact = []
    if item.phone:
        contact.append(
            InlineKeyboardButton(
                texts._(language, texts.BUTTON_CALL),
                callback_data=f"{NOTICE_PREFIX}:call:{booking.id}",
            )
        )
    contact.append(
        InlineKeyboardButton(
            texts._(language, texts.BUTTON_MESSAGE), url=f"tg://user?id={booking.user_id}"
        )
    )
    mute = InlineKeyboardButton(
        texts._(
            language,
            texts.BUTTON_MUTE[change] if change in CHANGES else texts.BUTTON_MUTE["confirmed"],
        ),
        callback_data=f"{NOTICE_PREFIX}:mute:{change}:{booking.business_id}",
    )
    return InlineKeyboardMarkup([contact, [mute]])


__all__ = [
    "CHANGES",
    "KIND",
    "NOTICE_PREFIX",
    "follow",
    "recipients",
    "render_notices",
    "tell_customer",
]
