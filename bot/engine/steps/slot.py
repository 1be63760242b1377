"""``slot``: the free times of the chosen day, a page at a time; holds the slot when the
platform supports holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from bot.engine.flow import DAY_FULL, TIME_CHOSEN, follow
from bot.engine.state import OfferedSlot
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_clock, format_day
from providers.base import Hold, ProviderError, Slot, SlotTaken, Step, slot_resources

PAGE_SIZE = 12
PER_ROW = 4


async def release_hold(turn: Turn) -> None:
    """Give a held slot back to the platform (going back, cancelling, refusal, expiry)."""
    booking = turn.booking
    raw, booking.hold = booking.hold, None
    if raw:
        try:
            await turn.provider.release(Hold.from_json(raw))
        except ProviderError:
            # The platform drops the hold by itself when it expires; nothing else to do.
            pass


#: Shown slots' stored form, by the identity of the Slot object (held here, so its id is not
#: reused while the entry lives). A provider that keeps its Slot values (the local one) hands
#: the same objects to everyone looking at a day, and their ISO texts are then made once.
#: By identity, not equality: equal slots may differ in how their times read (time zone).
_OFFERED: dict[int, tuple[Slot, tuple[Any, ...]]] = {}
_OFFERED_MAX = 4096


def _offered(slot: Slot) -> OfferedSlot:
    """A shown slot as the state keeps it until one is tapped: a list, not
    :meth:`Slot.to_json`'s dict, since the state is JSON-encoded on every update and the keys
    would be most of it."""
    hit = _OFFERED.get(id(slot))
    if hit is not None and hit[0] is slot:
        return list(hit[1])
    values = (
        slot.id,
        slot.start.isoformat(),
        slot.end.isoformat(),
        slot.resource_id,
        slot.resource_name,
    )
    if len(_OFFERED) >= _OFFERED_MAX:
        del _OFFERED[next(iter(_OFFERED))]  # the oldest entry
    _OFFERED[id(slot)] = (slot, values)
    return list(values)


def _from_offered(stored: Any) -> Slot:
    """The slot behind a tapped button; a dict is the form states saved before the list."""
    if isinstance(stored, dict):
        return Slot.from_json(stored)
    slot_id, start, end, resource_id, resource_name = stored
    return Slot(
        id=slot_id,
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
        resource_id=resource_id,
        resource_name=resource_name,
    )


class SlotStep(StepHandler):
    kind: ClassVar[str] = "slot"

    async def show(self, turn: Turn, step: Step) -> None:
        booking = turn.booking
        day = date.fromisoformat(booking.day or "")
        zone = turn.business.zone
        # A provider may build its slots as they are read (LazySlots): only the page shown is.
        slots: Sequence[Slot] = await turn.provider.slots(turn.selection(), day)
        after, booking.not_before = booking.not_before, None
        if after:  # after a refusal, show what is free from the lost time onwards
            later = [s for s in slots if s.start.isoformat() >= after]
            slots = later or slots
        if not slots:
            turn.notice(
                "No free time is left on {day}. Please pick another day.",
                day=format_day(day, turn.language),
            )
            await follow(turn, DAY_FULL)
            return
        pages = (len(slots) + PAGE_SIZE - 1) // PAGE_SIZE
        page = min(booking.page or 0, pages - 1)
        shown = slots[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        booking.offered_slots = [_offered(s) for s in shown]
        several_people = len(slot_resources(slots)) > 1
        language = turn.language
        buttons = [
            MenuButton(
                format_clock(s.start.astimezone(zone), language)
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
        turn.show(turn.t("Free times on {day}:", day=format_day(day, language)), rows)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        booking = turn.booking
        if action.startswith("p:") and action[2:].isdigit():
            booking.page = int(action[2:])
            await self.show(turn, step)
            return
        offered = booking.offered_slots or []
        if not (
            action.startswith("s:") and action[2:].isdigit() and int(action[2:]) < len(offered)
        ):
            await self.show(turn, step)
            return
        slot = _from_offered(offered[int(action[2:])])
        await release_hold(turn)
        if turn.provider.supports_holds:
            try:
                hold = await turn.provider.hold(turn.selection(), slot)
            except SlotTaken:
                turn.notice("Sorry, that time was just taken. Here are the free times now.")
                await self.show(turn, step)
                return
            booking.hold = hold.to_json()
            minutes = max(1, int((hold.expires_at - turn.now).total_seconds() // 60))
            turn.notices.append(
                turn.tn(
                    "This time is held for you for {minutes} minute.",
                    "This time is held for you for {minutes} minutes.",
                    minutes,
                    minutes=minutes,
                )
            )
        booking.slot = slot.to_json()
        await follow(turn, TIME_CHOSEN)

    async def reset(self, turn: Turn, step: Step) -> None:
        await release_hold(turn)
        turn.booking.slot = turn.booking.offered_slots = None
