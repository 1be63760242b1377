"""The buttons under a reminder, as a feature of the engine (:mod:`bot.engine.features`).

A reminder is sent by the dispatcher, outside any conversation, so its buttons carry their own
callback data, ``dr:<action>:<booking id>`` (:mod:`bot.delivery.render`): ``y`` I'll be there,
``r`` Reschedule, ``c`` Cancel, then ``C`` Yes, cancel it / ``k`` No, keep it. Reminders already
in users' chats keep working. The data comes from the client, so every tap is checked on the
server: it acts only on the tapping user's own booking, and only while that booking is confirmed
and ahead. Rescheduling and cancelling are the engine's own
(:func:`bot.engine.my_bookings.begin_reschedule`,
:func:`bot.engine.my_bookings.cancel_or_explain`, the same as /mybookings), run in a turn of
``Engine.handle``, with its error mapping and language.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery import texts
from bot.delivery.render import REMINDER_PREFIX, KeyboardRows, cancel_confirm_rows, reminder_rows
from bot.engine.features import Feature
from bot.engine.my_bookings import begin_reschedule, cancel_or_explain
from bot.engine.turn import Turn
from bot.engine.types import Button
from providers.base import ProviderError
from storage import bookings as booking_store
from storage.delivery_models import Delivery
from storage.types import row_id
from storage.writes import Write

if TYPE_CHECKING:
    from bot.engine.engine import Engine

log = logging.getLogger(__name__)

#: ``\Z``, not ``$``: ``$`` also matches before a trailing newline ("dr:y:12\n")
CALLBACK = re.compile(rf"{REMINDER_PREFIX}:([yrcCk]):([0-9]{{1,10}})\Z")


class ReminderButtons(Feature):
    callback_prefix: ClassVar[str] = REMINDER_PREFIX

    async def on_callback(self, engine: Engine, turn: Turn, data: str) -> None:
        match = CALLBACK.match(data)
        booking_id = row_id(match.group(2)) if match else None
        if match is None or booking_id is None:
            turn.alert = turn.t("This menu has expired.")
            return
        action = match.group(1)
        row = await booking_store.owned(turn.services, booking_id, turn.event.user_id)
        if row is None:
            turn.alert = turn.t(texts.NOT_YOURS)
            turn.alert_dialog = True
            return
        if row.status != "confirmed" or row.start_at <= turn.now:
            turn.alert = turn.t(texts.NOT_ACTIVE)
            turn.alert_dialog = True
            return
        if action == "y":
            turn.writes.append(_attending(booking_id, turn.event.message_id))
            turn.alert = turn.t(texts.ATTEND_DONE)
            turn.tapped_keyboard = _buttons(reminder_rows(turn.language, booking_id, attended=True))
        elif action == "r":
            await begin_reschedule(turn, booking_id)
        elif action == "c":
            turn.tapped_keyboard = _buttons(cancel_confirm_rows(turn.language, booking_id))
        elif action == "k":
            turn.tapped_keyboard = _buttons(reminder_rows(turn.language, booking_id))
        else:  # "C": Yes, cancel it
            try:
                cancelled = await cancel_or_explain(turn, row)
            except ProviderError as failure:
                log.warning(
                    "cancelling a booking failed at the platform: %s", type(failure).__name__
                )
                turn.show(turn.t(texts.CANCEL_FAILED))
                return
            if cancelled:
                turn.show(turn.t(texts.CANCEL_DONE))
                turn.tapped_keyboard = []
            elif not turn.in_booking:
                # Not confirmed by the platform: the notice says so; the booking is kept.
                turn.tapped_keyboard = _buttons(reminder_rows(turn.language, booking_id))


def _buttons(rows: KeyboardRows) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in rows]


def _attending(booking_id: int, message_id: int | None) -> Write:
    """Record "I'll be there" on the reminder the customer answered."""

    async def write(connection: AsyncConnection) -> None:
        await connection.execute(
            update(Delivery)
            .where(
                Delivery.booking_id == booking_id,
                Delivery.kind == "reminder",
                Delivery.telegram_message_id == message_id,
            )
            .values(answer="confirmed")
        )

    return write


__all__ = ["ReminderButtons"]
