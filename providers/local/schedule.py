"""Pure slot arithmetic for the local calendar: opening hours minus breaks minus claimed blocks.

Kept free of I/O so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from providers.local.catalog import StaffInfo
from providers.local.settings import BLOCK_MINUTES

BLOCK = timedelta(minutes=BLOCK_MINUTES)


def blocks(start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC block starts that the interval [start, end) occupies."""
    current = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while current < stop:
        yield current
        current += BLOCK


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def candidate_starts(
    person: StaffInfo,
    day: date,
    duration: timedelta,
    step: timedelta,
    zone: ZoneInfo,
) -> list[datetime]:
    """Start times on ``day`` at which ``person`` works for the whole ``duration`` without
    running into a break (ignoring bookings)."""
    weekday = day.weekday()
    breaks = [(_at(day, a, zone), _at(day, b, zone)) for a, b in person.breaks.get(weekday, [])]
    starts: list[datetime] = []
    for open_from, open_to in person.open_hours.get(weekday, []):
        start = _at(day, open_from, zone)
        close = _at(day, open_to, zone)
        while start + duration <= close:
            end = start + duration
            if not any(start < b_end and b_start < end for b_start, b_end in breaks):
                starts.append(start)
            start += step
    return starts


def free_starts(
    person: StaffInfo,
    day: date,
    duration: timedelta,
    step: timedelta,
    zone: ZoneInfo,
    taken: set[datetime],
    earliest: datetime,
    latest: datetime,
) -> list[datetime]:
    """Candidate starts that are within [earliest, latest] and whose blocks are all free."""
    return [
        start
        for start in candidate_starts(person, day, duration, step, zone)
        if earliest <= start <= latest
        and not any(block in taken for block in blocks(start, start + duration))
    ]


def days_between(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
