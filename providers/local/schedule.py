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


def iter_candidate_starts(
    person: StaffInfo,
    day: date,
    duration: timedelta,
    step: timedelta,
    zone: ZoneInfo,
) -> Iterator[datetime]:
    """Start times on ``day`` at which ``person`` works for the whole ``duration`` without
    running into a break (ignoring bookings), in order."""
    weekday = day.weekday()
    breaks = [(_at(day, a, zone), _at(day, b, zone)) for a, b in person.breaks.get(weekday, [])]
    for open_from, open_to in person.open_hours.get(weekday, []):
        start = _at(day, open_from, zone)
        close = _at(day, open_to, zone)
        while start + duration <= close:
            end = start + duration
            if not any(start < b_end and b_start < end for b_start, b_end in breaks):
                yield start
            start += step


def iter_free_starts(
    person: StaffInfo,
    day: date,
    duration: timedelta,
    step: timedelta,
    zone: ZoneInfo,
    taken: set[datetime],
    earliest: datetime,
    latest: datetime,
) -> Iterator[datetime]:
    """Candidate starts that are within [earliest, latest] and whose blocks are all free."""
    for start in iter_candidate_starts(person, day, duration, step, zone):
        if start < earliest or start > latest:
            continue
        if taken and any(block in taken for block in blocks(start, start + duration)):
            continue
        yield start


def has_free_start(
    person: StaffInfo,
    day: date,
    duration: timedelta,
    step: timedelta,
    zone: ZoneInfo,
    taken: set[datetime],
    earliest: datetime,
    latest: datetime,
) -> bool:
    """Whether ``person`` has at least one free start on ``day`` (stops at the first)."""
    for _ in iter_free_starts(person, day, duration, step, zone, taken, earliest, latest):
        return True
    return False


def days_between(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
