"""``/settings``: reminders and news on or off, per business, as a feature of the engine
(:mod:`bot.engine.features`).

The switches are the engine's menu buttons (actions ``p:<r|n>:<business id>``). Settings
messages sent before they moved to the engine carry ``ds:<r|n>:<business id>`` callback data;
those still work (the message is redrawn with tokens) when the tapped message does carry that
button. Either way a tap only changes the tapping user's own switch.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import select

from bot.delivery import texts
from bot.delivery.preferences import customer_businesses, get_preference, set_preference
from bot.engine.features import Feature
from bot.engine.turn import MenuButton, Turn
from storage.models import Business
from storage.types import row_id

if TYPE_CHECKING:
    from bot.engine.engine import Engine

SWITCH = re.compile(r"([rn]):([0-9]{1,10})\Z")


class NotificationSettings(Feature):
    prefix: ClassVar[str] = "p"
    callback_prefix: ClassVar[str] = "ds"
    commands: ClassVar[tuple[str, ...]] = ("settings",)

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        await _show(turn)

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        await _toggle(turn, action)

    async def on_callback(self, engine: Engine, turn: Turn, data: str) -> None:
        if not turn.event.data_on_message:
            # Forged: no settings message of ours carries it. Redrawing would put the switches
            # over whatever message was named, and a toggle would change a setting unasked.
            turn.alert = turn.t("This menu has expired.")
            return
        turn.edit = True  # the old message gets the switches as tokens
        await _toggle(turn, data.removeprefix(f"{self.callback_prefix}:"))


async def _toggle(turn: Turn, switch: str) -> None:
    match = SWITCH.match(switch)
    business_id = row_id(match.group(2)) if match else None
    if match is None or business_id is None:
        turn.alert = turn.t("This menu has expired.")
        return
    which = match.group(1)
    user_id = turn.event.user_id
    async with turn.services.sessions() as session, session.begin():
        if await session.get(Business, business_id) is None:
            return
        reminders_on, news_on = await get_preference(session, user_id, business_id)
        if which == "r":
            await set_preference(session, user_id, business_id, reminders=not reminders_on)
        else:
            await set_preference(session, user_id, business_id, news=not news_on)
    await _show(turn)


async def _show(turn: Turn) -> None:
    """Two switches per business the user is a customer of (every business if none yet)."""
    user_id = turn.event.user_id
    rows: list[list[MenuButton]] = []
    async with turn.services.sessions() as session:
        businesses = await customer_businesses(session, user_id)
        if not businesses:
            businesses = list(await session.scalars(select(Business).order_by(Business.name)))
        for business in businesses:
            reminders_on, news_on = await get_preference(session, user_id, business.id)
            r_text = texts.SETTINGS_REMINDERS_ON if reminders_on else texts.SETTINGS_REMINDERS_OFF
            n_text = texts.SETTINGS_NEWS_ON if news_on else texts.SETTINGS_NEWS_OFF
            rows.append([MenuButton(turn.t(r_text, business=business.name), f"p:r:{business.id}")])
            rows.append([MenuButton(turn.t(n_text, business=business.name), f"p:n:{business.id}")])
    turn.show(turn.t(texts.SETTINGS_TITLE if rows else texts.SETTINGS_NONE), rows)


__all__ = ["NotificationSettings"]
