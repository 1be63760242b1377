"""The ``[from to]`` period of the admin reports (``/stats``, ``/export``): typed, or a default."""

from __future__ import annotations

from datetime import date, timedelta

from bot.delivery.broadcasts import parse_range
from bot.engine.turn import Turn


def period_argument(
    turn: Turn, argument: str, *, before: int, after: int, usage: str
) -> tuple[date, date] | None:
    """The period typed after the command, or today minus ``before`` days to today plus
    ``after`` days when nothing was typed; ``None`` (after showing ``usage``) when what was
    typed is not a period."""
    if not argument.strip():
        today = turn.now.date()
        return today - timedelta(days=before), today + timedelta(days=after)
    period = parse_range(argument)
    if period is None:
        turn.show(turn.t(usage))
    return period
