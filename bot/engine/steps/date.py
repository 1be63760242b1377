"""``date``: an inline month calendar where only days with a free slot can be tapped."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache
from typing import ClassVar

from bot.engine.flow import DAY_CHOSEN, MONTH_PAGED, follow
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_month, weekday_initials
from providers.base import Step

#: How far ahead the calendar can be paged, and how far "earliest available" looks.
MONTHS_AHEAD = 12
EARLIEST_SEARCH_MONTHS = 3
NOOP = "b:noop"


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(first: date, months: int) -> date:
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1)


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


#: Shared by every calendar: buttons are only read once built (the engine turns them into
#: tokens), so the ones whose text and action never change are made once.
_BLANK = MenuButton(" ", NOOP)
_CLOSED = MenuButton("·", NOOP)


@lru_cache(maxsize=64)
def _weeks(first: date) -> tuple[tuple[tuple[date, str, str] | None, ...], ...]:
    """The weeks of ``first``'s month, Monday first: (day, label, action) for its days,
    ``None`` for the neighbouring months' (the same for every user, so built once)."""
    return tuple(
        tuple(
            (day, str(day.day), f"b:d:{day.isoformat()}") if day.month == first.month else None
            for day in week
        )
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    )


@lru_cache(maxsize=16)
def _weekday_row(language: str) -> tuple[MenuButton, ...]:
    return tuple(MenuButton(initial, NOOP) for initial in weekday_initials(language))


class DateStep(StepHandler):
    kind: ClassVar[str] = "date"

    def _today(self, turn: Turn) -> date:
        return turn.now.astimezone(turn.business.zone).date()

    async def show(self, turn: Turn, step: Step) -> None:
        today = self._today(turn)
        shown = date.fromisoformat(turn.booking.month or today.isoformat())
        first = max(_month_start(shown), _month_start(today))
        last_allowed = _add_months(_month_start(today), MONTHS_AHEAD)
        first = min(first, last_allowed)
        turn.booking.month = first.isoformat()
        days = await turn.provider.available_days(
            turn.selection(), max(first, today), _month_end(first)
        )
        rows: list[list[MenuButton]] = []
        previous = _add_months(first, -1)
        following = _add_months(first, 1)
        rows.append(
            [
                MenuButton("‹", f"b:m:{previous.isoformat()}")
                if first > _month_start(today)
                else MenuButton(" ", NOOP),
                MenuButton(format_month(first, turn.language), NOOP),
                MenuButton("›", f"b:m:{following.isoformat()}")
                if following <= last_allowed
                else MenuButton(" ", NOOP),
            ]
        )
        rows.append(list(_weekday_row(turn.language)))
        for week in _weeks(first):
            row = []
            for cell in week:
                if cell is None:
                    row.append(_BLANK)
                elif cell[0] in days:
                    row.append(MenuButton(cell[1], cell[2]))
                else:
                    row.append(_CLOSED)
            rows.append(row)
        rows.append([MenuButton(turn.t("⚡ Earliest available"), "b:first")])
        rows.append(nav_row(turn))
        text = turn.t("Pick a day. Days without a number are fully booked or closed.")
        if not days:
            text = turn.t(
                "No free time this month. Try the next month or the earliest available day."
            )
        turn.show(text, rows)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        today = self._today(turn)
        booking = turn.booking
        if action.startswith("m:"):
            booking.month = action[2:]
            await follow(turn, MONTH_PAGED)
        elif action.startswith("d:"):
            booking.day = action[2:]
            booking.page = 0
            await follow(turn, DAY_CHOSEN)
        elif action == "first":
            found = await self._earliest(turn, today)
            if found is None:
                turn.notice(
                    "There is no free time in the next {months} months.",
                    months=EARLIEST_SEARCH_MONTHS,
                )
                await self.show(turn, step)
                return
            booking.day = found.isoformat()
            booking.month = _month_start(found).isoformat()
            booking.page = 0
            await follow(turn, DAY_CHOSEN)
        else:  # a calendar header or an empty day: nothing to do, keep the calendar
            turn.alert = turn.t("Pick a day with a number.")
            await self.show(turn, step)

    async def _earliest(self, turn: Turn, today: date) -> date | None:
        first = today
        for _ in range(EARLIEST_SEARCH_MONTHS):
            last = _month_end(_month_start(first))
            days = await turn.provider.available_days(turn.selection(), first, last)
            if days:
                return min(days)
            first = last + timedelta(days=1)
        return None

    async def reset(self, turn: Turn, step: Step) -> None:
        turn.booking.day = None
