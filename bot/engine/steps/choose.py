"""``choose``: pick one (or several) of the options the provider lists."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from bot.engine.flow import CHOSEN, PICKS_DONE, follow
from bot.engine.state import Choice, OfferedOption
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_price
from providers.base import ANY_OPTION, Money, Option, Step


async def _prompt(turn: Turn, step: Step) -> str | None:
    """The question the adapter declared for ``step``. A conversation stored before steps
    carried their prompt finds it in the adapter's current flow."""
    if step.prompt is not None:
        return step.prompt
    declared = await turn.provider.flow(turn.selection())
    return next((s.prompt for s in declared if s.key == step.key), None)


def describe(turn: Turn, option: Option) -> str:
    if option.id == ANY_OPTION:
        return turn.t("No preference")
    parts = [option.label]
    if option.duration_minutes:
        parts.append(turn.t("{minutes} min", minutes=option.duration_minutes))
    if option.price is not None:
        parts.append(format_price(option.price.amount, option.price.currency, turn.language))
    return " · ".join(parts)


def _stored(option: Option) -> OfferedOption:
    stored: OfferedOption = {"id": option.id, "label": option.label}
    if option.duration_minutes:
        stored["dur"] = option.duration_minutes
    if option.price is not None:
        stored["price"] = [str(option.price.amount), option.price.currency]
    return stored


def stored_price(choice: Choice) -> Money | None:
    price = choice.price
    return Money(Decimal(price[0]), price[1]) if price else None


def _chosen(option: OfferedOption) -> Choice:
    """The choice of one option, with its duration and price."""
    return Choice(
        ids=[option["id"]],
        labels=[option["label"]],
        duration=option.get("dur"),
        price=option.get("price"),
    )


def _picked(options: list[OfferedOption]) -> Choice:
    """The choice of a multi-pick's options: their durations added up, no price."""
    return Choice(
        ids=[o["id"] for o in options],
        labels=[o["label"] for o in options],
        duration=sum(int(o.get("dur", 0)) for o in options) or None,
    )


class ChooseStep(StepHandler):
    kind: ClassVar[str] = "choose"

    async def show(self, turn: Turn, step: Step) -> None:
        options = list(await turn.provider.options(step.key, turn.selection()))
        concrete = [o for o in options if o.id != ANY_OPTION]
        only = concrete if concrete else options
        if len(only) == 1 and step.max_picks == 1:
            # Nothing to ask (one option, or only "no preference"): take it, and remember it
            # was not the user's choice so that Back skips this step too.
            choice = _chosen(_stored(only[0]))
            choice.auto = True
            turn.booking.choices[step.key] = choice
            await follow(turn, CHOSEN)
            return
        if not concrete:
            turn.notice("Nothing can be booked here at the moment. Please try again later.")
            turn.show(turn.t("Booking stopped."), [nav_row(turn)])
            return
        turn.booking.options = [_stored(o) for o in options]
        picked = set(turn.booking.picks or [])
        rows = []
        for index, option in enumerate(options):
            label = describe(turn, option)
            if step.max_picks > 1:
                label = ("✅ " if option.id in picked else "▫️ ") + label
            rows.append([MenuButton(label, f"b:o:{index}")])
        text = turn.t(await _prompt(turn, step) or "Please choose:")
        if step.max_picks > 1:
            text += "\n" + turn.t("You can pick up to {count}.", count=step.max_picks)
            if picked:
                rows.append([MenuButton(turn.t("Continue »"), "b:done")])
        described = [o for o in options if o.description]
        if described and step.max_picks == 1:
            text += "\n\n" + "\n".join(f"• {o.label}: {o.description}" for o in described)
        rows.append(nav_row(turn))
        turn.show(text, rows)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        booking = turn.booking
        offered = booking.options or []
        if action == "done" and step.max_picks > 1:
            picked = [o for o in offered if o["id"] in (booking.picks or [])]
            if not picked:
                await self.show(turn, step)
                return
            booking.choices[step.key] = _picked(picked)
            await follow(turn, PICKS_DONE)  # which drops the options and picks (drop_scratch)
            return
        if (
            not action.startswith("o:")
            or not action[2:].isdigit()
            or int(action[2:]) >= len(offered)
        ):
            await self.show(turn, step)
            return
        chosen = offered[int(action[2:])]
        if step.max_picks > 1:
            if booking.picks is None:
                booking.picks = []
            picks = booking.picks
            if chosen["id"] in picks:
                picks.remove(chosen["id"])
            elif len(picks) < step.max_picks:
                picks.append(chosen["id"])
            else:
                turn.notice("You can pick up to {count}.", count=step.max_picks)
            await self.show(turn, step)
            return
        booking.choices[step.key] = _chosen(chosen)
        await follow(turn, CHOSEN)

    async def reset(self, turn: Turn, step: Step) -> None:
        turn.booking.choices.pop(step.key, None)
        turn.booking.picks = None


__all__ = ["ChooseStep"]
