"""Buttons: a tapped token is checked against the menu this conversation last offered, then
its action goes to the part of the engine that offered it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.engine.booking import begin, start_booking
from bot.engine.commands import set_language
from bot.engine.flow import CANCELLED, RETRIED, STALE_BUTTON, WENT_BACK, follow
from bot.engine.my_bookings import my_bookings_action
from bot.engine.my_details import my_details_action
from bot.engine.steps import HANDLERS
from bot.engine.turn import Turn
from bot.i18n import LANGUAGES

#: ``[0-9]`` and ``\Z``: ``\d`` takes any script's digits, ``$`` a trailing newline
TOKEN = re.compile(r"c([0-9]{1,12})\.([0-9]{1,4})\Z")
#: Runs a checked menu action ``(prefix, rest)`` of a feature beside the booking flow
#: (:mod:`bot.engine.features`); ``False`` when no feature has that prefix.
FeatureAction = Callable[[str, str], Awaitable[bool]]


async def button(turn: Turn, token: str, feature_action: FeatureAction) -> None:
    """Answer a tap on the button behind ``token``, or say the menu expired."""
    match = TOKEN.match(token)
    menu = turn.state.menu
    actions = menu.actions if menu is not None else []
    if (
        match is None
        or menu is None
        or int(match.group(1)) != menu.version
        or int(match.group(2)) >= len(actions)
    ):
        turn.alert = turn.t("This menu has expired.")
        if turn.in_booking:
            turn.notice("This menu has expired. Here is where you are:")
            await follow(turn, STALE_BUTTON)
        return
    turn.edit = True
    action = actions[int(match.group(2))]
    prefix, _, rest = action.partition(":")
    if prefix == "b" and turn.in_booking:
        await booking_action(turn, rest)
    elif prefix == "b" and rest == "retry":
        # The platform failed before the booking started (its first screen): start again.
        await begin(turn, None)
    elif prefix == "s" and turn.services.config.business(rest):
        await start_booking(turn, rest)
    elif prefix == "m":
        await my_bookings_action(turn, rest)
    elif prefix == "f":
        await my_details_action(turn, rest)
    elif prefix == "l" and rest in LANGUAGES:
        await set_language(turn, rest)
    elif not await feature_action(prefix, rest):
        turn.alert = turn.t("This menu has expired.")


async def booking_action(turn: Turn, action: str) -> None:
    """A button of the booking in progress: Cancel, Back, Retry, or the step's own."""
    step = turn.step
    handler = HANDLERS[step.kind]
    if action == "cancel":
        await follow(turn, CANCELLED)
        turn.show(turn.t("Booking cancelled. Send /book to start again."))
    elif action == "back":
        on_back = getattr(handler, "on_back", None)
        if on_back is None or not await on_back(turn, step):
            await follow(turn, WENT_BACK)
    elif action == "retry":
        await follow(turn, RETRIED)
    else:
        await handler.on_action(turn, step, action)
