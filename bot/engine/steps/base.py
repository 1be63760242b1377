"""The interface of a step handler, and the navigation every step shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from bot.engine import funnel
from bot.engine.turn import MenuButton, Turn
from providers.base import Step


class StepHandler(ABC):
    """Implements one step kind for every provider.

    ``show`` renders the step (or moves on when there is nothing to ask); ``on_action`` handles
    one of the step's own buttons (the action without its ``b:`` prefix); ``on_text`` and
    ``on_contact`` handle typed input. ``reset`` forgets what the step collected, and releases
    what it holds, when the user goes back to or past it.
    """

    kind: ClassVar[str]

    @abstractmethod
    async def show(self, turn: Turn, step: Step) -> None: ...

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        await self.show(turn, step)

    async def on_text(self, turn: Turn, step: Step, text: str) -> None:
        turn.notice("Please use the buttons below.")
        await self.show(turn, step)

    async def on_contact(self, turn: Turn, step: Step, phone: str) -> None:
        await self.on_text(turn, step, phone)

    async def reset(self, turn: Turn, step: Step) -> None:
        turn.booking.choices.pop(step.key, None)


def nav_row(turn: Turn) -> list[MenuButton]:
    """Cancel on every step, and Back where the user answered an earlier step."""
    back = previous_answered(turn) is not None
    row = [MenuButton(turn.t("« Back"), "b:back")] if back else []
    row.append(MenuButton(turn.t("✖ Cancel"), "b:cancel"))
    return row


def drop_scratch(turn: Turn) -> None:
    """Forget what a step keeps in the booking only while it is on screen: the options or slots
    it offered, the picks of a multi-choice, the stored people (with their details) it offered.
    The state is written on every update, so these go as soon as the user moves on; a step
    shown again (Back) offers them afresh."""
    booking = turn.booking
    booking.options = booking.offered_slots = booking.picks = booking.people = None


async def advance(turn: Turn) -> None:
    """Move to the next step and show it."""
    from bot.engine.steps import HANDLERS

    booking = turn.booking
    drop_scratch(turn)
    booking.index = min(booking.index + 1, len(booking.flow) - 1)
    funnel.moved_on(turn)
    step = turn.step
    await HANDLERS[step.kind].show(turn, step)


def previous_answered(turn: Turn) -> int | None:
    """Index of the nearest earlier step the user answered themselves, or ``None``: steps
    settled automatically (one option only, or a reschedule's service and staff) don't count."""
    booking = turn.booking
    choices = booking.choices
    for index in range(booking.index - 1, -1, -1):
        choice = choices.get(Step.from_json(booking.flow[index]).key)
        if choice is None or not choice.auto:
            return index
    return None


async def go_back(turn: Turn) -> None:
    """Back to the previous step the user actually answered (steps skipped automatically are
    skipped again), forgetting what that step and the current one collected. With nothing
    answered before (the first step, or a reschedule's date step) the current step stays."""
    from bot.engine.steps import HANDLERS

    booking = turn.booking
    current = turn.step
    target = previous_answered(turn)
    if target is None:
        await HANDLERS[current.kind].show(turn, current)
        return
    await HANDLERS[current.kind].reset(turn, current)
    drop_scratch(turn)
    for skipped in turn.steps[target : booking.index]:
        await HANDLERS[skipped.kind].reset(turn, skipped)
    booking.index = target
    await HANDLERS[turn.step.kind].show(turn, turn.step)


async def go_to(turn: Turn, key: str) -> None:
    """Jump back to the step ``key`` (after a platform refusal), keeping earlier answers."""
    from bot.engine.steps import HANDLERS

    steps = turn.steps
    target = next(i for i, s in enumerate(steps) if s.key == key)
    drop_scratch(turn)
    for later in steps[target + 1 : turn.booking.index + 1]:
        await HANDLERS[later.kind].reset(turn, later)
    turn.booking.index = target
    await HANDLERS[steps[target].kind].show(turn, steps[target])


async def show_current(turn: Turn) -> None:
    from bot.engine.steps import HANDLERS

    await HANDLERS[turn.step.kind].show(turn, turn.step)
