"""The picture of ``/stats``: bookings made and cancelled per day over the period, one bar
chart per business (matplotlib, drawn off the event loop: a chart takes tens of
milliseconds of CPU)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from datetime import date


def _draw(title: str, days: Sequence[date], made: Sequence[int], cancelled: Sequence[int],
          labels: tuple[str, str]) -> bytes:  # fmt: skip
    # imported here: matplotlib costs a second of start-up, and only /stats needs it
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 3), dpi=100, layout="constrained")
    axes = figure.subplots()
    kept = [m - c for m, c in zip(made, cancelled, strict=True)]
    ticks = [day.isoformat()[5:] for day in days]  # MM-DD: the same in every language
    axes.bar(ticks, kept, color="#2e7d32", label=labels[0])
    axes.bar(ticks, cancelled, bottom=kept, color="#c62828", label=labels[1])
    axes.set_title(title)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


async def bookings_chart(
    title: str,
    days: Sequence[date],
    made: Sequence[int],
    cancelled: Sequence[int],
    labels: tuple[str, str],
) -> bytes:
    """A PNG of ``made`` bookings per day (``cancelled`` of them stacked on top)."""
    return await asyncio.to_thread(_draw, title, days, made, cancelled, labels)


__all__ = ["bookings_chart"]
