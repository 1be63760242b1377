"""Turn claimed outbox rows into Telegram messages, at send time, so a reminder always shows
the booking as it is now and the customer's current choices are respected.

One batch of rows costs a handful of queries, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity

from bot.delivery import notices, texts
from bot.delivery.outbox import Claimed, Result
from bot.delivery.preferences import switches
from storage.delivery_models import BlockedChat, Broadcast, DeliveryPreference
from storage.models import Booking, Business, User

#: Callback data prefix of the reminder buttons: ``dr:<action>:<booking id>``.
REMINDER_PREFIX = "dr"


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send for one claimed row."""

    row: Claimed
    text: str
    entities: tuple[MessageEntity, ...] = ()
    reply_markup: InlineKeyboardMarkup | None = None


#: A keyboard as (label, callback data) rows: the one description of the reminder's buttons,
#: turned into python-telegram-bot objects here (the dispatcher) and into the engine's buttons by
#: :mod:`bot.delivery.reminder_buttons` (a tap swaps them in place).
KeyboardRows = list[list[tuple[str, str]]]


def reminder_rows(language: str, booking_id: int, *, attended: bool = False) -> KeyboardRows:
    """The reminder's buttons: I'll be there (until tapped), Reschedule, Cancel."""
    rows = []
    if not attended:
        rows.append([(texts._(language, texts.BUTTON_ATTEND), f"{REMINDER_PREFIX}:y:{booking_id}")])
    rows.append([(texts._(language, texts.BUTTON_RESCHEDULE), f"{REMINDER_PREFIX}:r:{booking_id}")])
    rows.append([(texts._(language, texts.BUTTON_CANCEL), f"{REMINDER_PREFIX}:c:{booking_id}")])
    return rows


def cancel_confirm_rows(language: str, booking_id: int) -> KeyboardRows:
    """What the reminder's Cancel turns its buttons into: Yes, cancel it / No, keep it."""
    return [
        [(texts._(language, texts.BUTTON_CANCEL_YES), f"{REMINDER_PREFIX}:C:{booking_id}")],
        [(texts._(language, texts.BUTTON_CANCEL_NO), f"{REMINDER_PREFIX}:k:{booking_id}")],
    ]


def reminder_keyboard(
    language: str, booking_id: int, *, attended: bool = False
) -> InlineKeyboardMarkup:
    rows = reminder_rows(language, booking_id, attended=attended)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def reminder_text(language: str, booking: Booking, business: Business) -> str:
    local = booking.start_at.astimezone(ZoneInfo(business.timezone))
    day, clock = texts.when(local, language)
    if booking.resource_name:
        return texts._(
            language,
            texts.REMINDER_WITH,
            service=booking.service_name,
            resource=booking.resource_name,
            business=business.name,
            day=day,
            time=clock,
        )
    return texts._(
        language,
        texts.REMINDER,
        service=booking.service_name,
        business=business.name,
        day=day,
        time=clock,
    )


@dataclass(frozen=True)
class _Batch:
    """What rendering a batch of rows needs from the database, read once for the batch."""

    blocked: set[int]
    prefs: dict[tuple[int, int], DeliveryPreference]
    bookings: dict[int, tuple[Booking, User, Business]]
    broadcasts: dict[int, Broadcast]


async def render(
    session: AsyncSession, rows: Sequence[Claimed], now: datetime
) -> tuple[list[Outgoing], list[Result]]:
    """Messages to send, and rows settled without sending (opted out, blocked, cancelled...)."""
    out: list[Outgoing] = []
    settled: list[Result] = []
    if not rows:
        return out, settled
    business_rows = [r for r in rows if r.kind == notices.KIND]
    if business_rows:
        for item in await notices.render_notices(session, business_rows):
            if isinstance(item, Result):
                settled.append(item)
            else:
                out.append(Outgoing(item[0], item[1], (), item[2]))
        rows = [r for r in rows if r.kind != notices.KIND]
        if not rows:
            return out, settled
    batch = await _load(session, rows)
    for row in rows:
        rendered = _render_one(row, batch, now)
        if isinstance(rendered, Outgoing):
            out.append(rendered)
        else:
            settled.append(rendered)
    return out, settled


async def _load(session: AsyncSession, rows: Sequence[Claimed]) -> _Batch:
    """One query per kind of thing the rows refer to: blocked chats, preferences, the
    reminders' bookings (with user and business) and the broadcasts."""
    chats = {r.chat_id for r in rows}
    blocked = set(
        await session.scalars(select(BlockedChat.chat_id).where(BlockedChat.chat_id.in_(chats)))
    )
    users = {r.user_id for r in rows}
    prefs = {
        (p.user_id, p.business_id): p
        for p in await session.scalars(
            select(DeliveryPreference).where(DeliveryPreference.user_id.in_(users))
        )
    }
    booking_ids = {r.booking_id for r in rows if r.kind == "reminder" and r.booking_id}
    bookings: dict[int, tuple[Booking, User, Business]] = {}
    if booking_ids:
        result = await session.execute(
            select(Booking, User, Business)
            .join(User, User.id == Booking.user_id)
            .join(Business, Business.id == Booking.business_id)
            .where(Booking.id.in_(booking_ids))
        )
        bookings = {b.id: (b, u, biz) for b, u, biz in result}
    broadcast_ids = {r.broadcast_id for r in rows if r.broadcast_id}
    broadcasts: dict[int, Broadcast] = {}
    if broadcast_ids:
        broadcasts = {
            b.id: b
            for b in await session.scalars(select(Broadcast).where(Broadcast.id.in_(broadcast_ids)))
        }
    return _Batch(blocked=blocked, prefs=prefs, bookings=bookings, broadcasts=broadcasts)


def _render_one(row: Claimed, batch: _Batch, now: datetime) -> Outgoing | Result:
    """The message for one row, or why it is settled without one."""
    if row.chat_id in batch.blocked:
        return Result(row.id, "blocked", error="chat blocked the bot earlier")
    pref = batch.prefs.get((row.user_id, row.business_id))
    if row.kind == "reminder":
        return _reminder(row, batch.bookings.get(row.booking_id or -1), pref, now)
    if row.kind == "broadcast":
        broadcast = batch.broadcasts.get(row.broadcast_id or -1)
        if broadcast is None or broadcast.status == "cancelled":
            return Result(row.id, "cancelled", error="broadcast cancelled")
        if not switches(pref)[1]:
            return Result(row.id, "skipped", error="news not wanted")
        return Outgoing(row, broadcast.text, _entities(broadcast.entities))
    text = str(row.payload.get("text") or "")
    if not text:
        return Result(row.id, "failed", error="empty notice")
    return Outgoing(row, text)


def _reminder(
    row: Claimed,
    found: tuple[Booking, User, Business] | None,
    pref: DeliveryPreference | None,
    now: datetime,
) -> Outgoing | Result:
    """A reminder of the booking as it is now, unless it is gone, past or unwanted."""
    if found is None or found[0].status != "confirmed":
        return Result(row.id, "cancelled", error="booking no longer confirmed")
    booking, user, business = found
    if booking.start_at <= now:
        return Result(row.id, "expired", error="appointment already started")
    if not switches(pref)[0]:
        return Result(row.id, "skipped", error="reminders turned off")
    language = texts.language_of(user.language, user.telegram_language)
    return Outgoing(
        row,
        reminder_text(language, booking, business),
        (),
        reminder_keyboard(language, booking.id),
    )


def _entities(raw: list[Any]) -> tuple[MessageEntity, ...]:
    return tuple(e for e in (MessageEntity.de_json(d, None) for d in raw or []) if e is not None)
