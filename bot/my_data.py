"""The customer's own data, a feature on the engine: ``/mydata`` sends everything we store
about them as a JSON document, ``/forget`` deletes it after a confirmation
(:mod:`storage.personal_data` says what happens to each table).

Forgetting runs as the turn's write, in the transaction that saves the conversation: the
conversation goes on, with an empty state (no booking in progress, no language, no menu).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.engine.features import Feature
from bot.engine.state import ConversationState
from bot.engine.turn import MenuButton, Turn
from bot.engine.types import Document
from bot.i18n import N_
from storage import personal_data
from storage.writes import BookingChange

if TYPE_CHECKING:
    from bot.engine.engine import Engine

MYDATA_CAPTION = N_("Everything we store about you.")
FORGET_ASK = N_(
    "This deletes your stored details, your conversations with me and your settings. Your "
    "appointments stay booked: the business keeps them without your name or contact. To "
    "cancel one, use /mybookings first. Delete your data?"
)
BUTTON_FORGET = N_("Yes, delete my data")
BUTTON_KEEP = N_("No, keep my data")
FORGOTTEN = N_("Your data is deleted.")
KEPT = N_("Nothing was deleted.")


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class MyData(Feature):
    prefix: ClassVar[str] = "d"
    commands: ClassVar[tuple[str, ...]] = ("mydata", "forget")

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        user_id = turn.event.user_id
        if command == "forget":
            rows = [
                [MenuButton(turn.t(BUTTON_FORGET), "d:forget")],
                [MenuButton(turn.t(BUTTON_KEEP), "d:keep")],
            ]
            turn.show(turn.t(FORGET_ASK), rows)
            return
        async with turn.services.autocommit_engine.connect() as connection:
            found = await personal_data.everything_about(connection, user_id)
        content = json.dumps(
            {"user_id": user_id, "tables": found}, default=_plain, ensure_ascii=False, indent=1
        )
        turn.show(turn.t(MYDATA_CAPTION))
        turn.documents.append(
            Document(f"mydata-{user_id}.json", content.encode(), turn.t(MYDATA_CAPTION))
        )

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        if action != "forget":
            turn.show(turn.t(KEPT))
            return
        user_id, chat_id = turn.event.user_id, turn.event.chat_id

        async def write(connection: AsyncConnection) -> BookingChange | None:
            await personal_data.forget(connection, user_id, keep_chat=chat_id)
            return None

        turn.writes.append(write)
        turn.state = ConversationState()
        turn.show(turn.t(FORGOTTEN))


__all__ = ["MyData"]
