"""Pure slot arithmetic for the local calendar: opening hours minus breaks minus claimed blocks.

Kept free of I/O so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
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


# -- integer arithmetic for the screens ---------------------------------------------------------
# The month view and the slot list ask the same question for dozens of (person, day) pairs on
# every update. Above, each candidate start is an aware datetime and each of its blocks a UTC
# conversion; below, a day is the epoch second of its local midnight, a candidate start an
# offset in seconds from it (the same for every week, so computed once per catalog), and a
# claimed block its epoch second. That holds on days with one UTC offset from midnight to
# midnight (:func:`uniform_midnight`); on the two DST days a year the adapter maps each
# candidate to its instants with the datetime arithmetic above, once, and the functions above
# stay the reference the tests compare both with.

BLOCK_SECONDS = BLOCK_MINUTES * 60


def _seconds(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def candidate_offsets(
    person: StaffInfo, weekday: int, duration_seconds: int, step_seconds: int
) -> tuple[int, ...]:
    """:func:`iter_candidate_starts` as seconds after local midnight, for any day of
    ``weekday`` (wall-clock arithmetic, which is what that function does on a uniform day)."""
    breaks = [(_seconds(a), _seconds(b)) for a, b in person.breaks.get(weekday, [])]
    found: list[int] = []
    for open_from, open_to in person.open_hours.get(weekday, []):
        start, close = _seconds(open_from), _seconds(open_to)
        while start + duration_seconds <= close:
            end = start + duration_seconds
            if not any(start < b_end and b_start < end for b_start, b_end in breaks):
                found.append(start)
            start += step_seconds
    # Overlapping open ranges would list a start twice; the datetime version would too, and
    # callers dedupe by start, but keeping them sorted and unique keeps bisect valid.
    return tuple(sorted(set(found)))


@lru_cache(maxsize=4096)
def uniform_midnight(day: date, zone: ZoneInfo) -> int | None:
    """The epoch second of ``day``'s local midnight when the whole day has one UTC offset
    (every day but the DST changes), else ``None``."""
    midnight = datetime.combine(day, time(), tzinfo=zone)
    following = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    if midnight.utcoffset() != following.utcoffset():
        return None
    return int(midnight.timestamp())


def iter_free_offsets(
    offsets: tuple[int, ...],
    midnight: int,
    duration_seconds: int,
    taken: set[int],
    earliest: int,
    latest: int,
) -> Iterator[int]:
    """The ``offsets`` (from :func:`candidate_offsets`) whose start lies in [earliest, latest]
    (epoch seconds) and whose blocks (epoch seconds, ``taken``) are all free, in order."""
    for index in range(
        bisect_left(offsets, earliest - midnight), bisect_right(offsets, latest - midnight)
    ):
        start = midnight + offsets[index]
        # isdisjoint walks the range in C: no Python step per block
        if not taken or taken.isdisjoint(range(start, start + duration_seconds, BLOCK_SECONDS)):
            yield offsets[index]


def has_free_offset(
    offsets: tuple[int, ...],
    midnight: int,
    duration_seconds: int,
    taken: set[int],
    earliest: int,
    latest: int,
) -> bool:
    """Whether :func:`iter_free_offsets` would yield anything (stops at the first); the month
    view asks this for every (person, day), so it is a plain loop, not a generator."""
    first = bisect_left(offsets, earliest - midnight)
    stop = bisect_right(offsets, latest - midnight)
    if first >= stop:
        return False
    if not taken:
        return True
    for index in range(first, stop):
        start = midnight + offsets[index]
        if taken.isdisjoint(range(start, start + duration_seconds, BLOCK_SECONDS)):
            return True
    return False
