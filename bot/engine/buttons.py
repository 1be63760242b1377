"""Buttons: a tapped token is checked against the menu this conversation last offered, then
its action goes to the part of the engine that offered it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.engine import news_consent
from bot.engine.booking import begin, cancel_in_progress, start_booking
from bot.engine.commands import set_language
from bot.engine.flow import RETRIED, STALE_BUTTON, WENT_BACK, follow
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
    if prefix == "b" and rest == "restart":
        # "Start over" (/book during a booking), or Retry when the platform failed before the
        # booking started (its first screen): start again.
        await begin(turn, None)
    elif prefix == "b" and rest.startswith(f"{news_consent.ACTION}:"):
        parsed = turn.id_action(rest)
        if parsed is not None:
            await news_consent.said_yes(turn, parsed[1])
    elif prefix == "b" and turn.in_booking:
        await booking_action(turn, rest)
    elif prefix == "b" and rest == "retry":
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
        await cancel_in_progress(turn)
    elif action == "resume":
        await HANDLERS[step.kind].show(turn, step)
    elif action == "back":
        on_back = getattr(handler, "on_back", None)
        if on_back is None or not await on_back(turn, step):
            await follow(turn, WENT_BACK)
    elif action == "retry":
        await follow(turn, RETRIED)
    else:
        await handler.on_action(turn, step, action)
