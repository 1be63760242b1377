"""``slot``: the free times of the chosen day, a page at a time; holds the slot when the
platform supports holds."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from bot.engine.steps.base import StepHandler, advance, go_back, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_clock, format_day
from providers.base import Hold, ProviderError, Slot, SlotTaken, Step

PAGE_SIZE = 12
PER_ROW = 4


async def release_hold(turn: Turn) -> None:
    """Give a held slot back to the platform (going back, cancelling, refusal, expiry)."""
    raw = turn.booking.pop("hold", None)
    if raw:
        try:
            await turn.provider.release(Hold.from_json(raw))
        except ProviderError:
            # The platform drops the hold by itself when it expires; nothing else to do.
            pass


class SlotStep(StepHandler):
    kind: ClassVar[str] = "slot"

    async def show(self, turn: Turn, step: Step) -> None:
        day = date.fromisoformat(turn.booking["day"])
        zone = turn.business.zone
        slots = list(await turn.provider.slots(turn.selection(), day))
        after = turn.booking.pop("after", None)
        if after:  # after a refusal, show what is free from the lost time onwards
            later = [s for s in slots if s.start.isoformat() >= after]
            slots = later or slots
        if not slots:
            turn.notice(
                "No free time is left on {day}. Please pick another day.",
                day=format_day(day, turn.language),
            )
            await go_back(turn)
            return
        pages = (len(slots) + PAGE_SIZE - 1) // PAGE_SIZE
        page = min(int(turn.booking.get("page", 0)), pages - 1)
        shown = slots[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        turn.booking["slots"] = [s.to_json() for s in shown]
        several_people = len({s.resource_id for s in slots}) > 1
        buttons = [
            MenuButton(
                format_clock(s.start.astimezone(zone), turn.language)
                + (f" {s.resource_name}" if several_people and s.resource_name else ""),
                f"b:s:{i}",
            )
            for i, s in enumerate(shown)
        ]
        per_row = 2 if several_people else PER_ROW
        rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        paging = []
        if page > 0:
            paging.append(MenuButton(turn.t("‹ Earlier"), f"b:p:{page - 1}"))
        if page < pages - 1:
            paging.append(MenuButton(turn.t("Later ›"), f"b:p:{page + 1}"))
        if paging:
            rows.append(paging)
        rows.append(nav_row(turn))
        turn.show(turn.t("Free times on {day}:", day=format_day(day, turn.language)), rows)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        if action.startswith("p:") and action[2:].isdigit():
            turn.booking["page"] = int(action[2:])
            await self.show(turn, step)
            return
        offered = turn.booking.get("slots", [])
        if not (
            action.startswith("s:") and action[2:].isdigit() and int(action[2:]) < len(offered)
        ):
            await self.show(turn, step)
            return
        slot = Slot.from_json(offered[int(action[2:])])
        await release_hold(turn)
        if turn.provider.supports_holds:
            try:
                hold = await turn.provider.hold(turn.selection(), slot)
            except SlotTaken:
                turn.notice("Sorry, that time was just taken. Here are the free times now.")
                await self.show(turn, step)
                return
            turn.booking["hold"] = hold.to_json()
            minutes = max(1, int((hold.expires_at - turn.now).total_seconds() // 60))
            turn.notice("This time is held for you for {minutes} minutes.", minutes=minutes)
        turn.booking["slot"] = slot.to_json()
        await advance(turn)

    async def reset(self, turn: Turn, step: Step) -> None:
        await release_hold(turn)
        turn.booking.pop("slot", None)
        turn.booking.pop("slots", None)
