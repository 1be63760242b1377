"""Pure slot arithmetic for the local calendar: opening hours minus breaks minus claimed blocks,
and :class:`Availability`, that arithmetic over a date range for one read of the claimed blocks.

A module of its own, kept free of I/O, so it can be tested and benchmarked on its own (the
adapter reads the catalog and the claims; everything computed from them is here).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from providers.base import LazySlots, Slot
from providers.local.catalog import Catalog, StaffInfo
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


@dataclass(frozen=True)
class Availability:
    """What slot arithmetic over a date range needs, read once: the people, the blocks they
    have claimed (epoch seconds), the service's length and the bookable window."""

    catalog: Catalog
    people: list[StaffInfo]
    taken: dict[int, set[int]]
    duration: timedelta
    step: timedelta
    earliest: datetime
    latest: datetime
    zone: ZoneInfo
    # the same in whole seconds, for the integer arithmetic (starts are whole seconds)
    duration_seconds: int = field(init=False)
    step_seconds: int = field(init=False)
    window: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: derived fields are set once, here
        set_(self, "duration_seconds", int(self.duration.total_seconds()))
        set_(self, "step_seconds", int(self.step.total_seconds()))
        set_(
            self,
            "window",
            (math.ceil(self.earliest.timestamp()), math.floor(self.latest.timestamp())),
        )

    def offsets(self, person: StaffInfo, weekday: int) -> tuple[int, ...]:
        """``person``'s candidate starts on ``weekday``, computed once per catalog."""
        key = ("starts", person.id, weekday, self.duration_seconds, self.step_seconds)
        found: tuple[int, ...] | None = self.catalog.derived.get(key)
        if found is None:
            found = candidate_offsets(person, weekday, self.duration_seconds, self.step_seconds)
            self.catalog.derived[key] = found
        return found

    def _dst_instants(
        self, day: date, offsets: tuple[int, ...]
    ) -> tuple[tuple[int, int, int], ...]:
        """On a day whose UTC offset changes: (offset, start, end) of each candidate, start and
        end in epoch seconds exactly as the datetime arithmetic maps them (wall-clock time,
        first occurrence of a repeated hour, a skipped hour read with the earlier offset).
        Computed once per catalog: two days a year."""
        key = ("dst", day, self.zone, offsets, self.duration_seconds)
        found: tuple[tuple[int, int, int], ...] | None = self.catalog.derived.get(key)
        if found is None:
            found = tuple(
                (offset, int(start.timestamp()), int((start + self.duration).timestamp()))
                for offset in offsets
                for start in (datetime.combine(day, _clock(offset), tzinfo=self.zone),)
            )
            self.catalog.derived[key] = found
        return found

    def _free(self, person: StaffInfo, day: date) -> Iterator[tuple[int, int]]:
        """(offset after local midnight, epoch second) of ``person``'s free starts on ``day``,
        in wall-clock order."""
        earliest, latest = self.window
        offsets = self.offsets(person, day.weekday())
        taken = self.taken[person.id]
        midnight = uniform_midnight(day, self.zone)
        if midnight is not None:
            for offset in iter_free_offsets(
                offsets, midnight, self.duration_seconds, taken, earliest, latest
            ):
                yield offset, midnight + offset
            return
        for offset, start, end in self._dst_instants(day, offsets):
            if earliest <= start <= latest and (
                not taken or taken.isdisjoint(range(start, end, BLOCK_SECONDS))
            ):
                yield offset, start

    def free_days(self, first: date, last: date) -> set[date]:
        """The days of [first, last] on which someone has a free start (the month view).

        A month is about 60 (person, day) questions: what does not change from one day to the
        next is hoisted out of the loop, and a day stops at its first free start."""
        earliest, latest = self.window
        duration, zone = self.duration_seconds, self.zone
        weekly = [
            (person, self.taken[person.id], [self.offsets(person, wd) for wd in range(7)])
            for person in self.people
        ]
        found: set[date] = set()
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            day = date.fromordinal(ordinal)
            midnight = uniform_midnight(day, zone)
            if midnight is None:
                if any(next(self._free(person, day), None) for person in self.people):
                    found.add(day)
                continue
            weekday = day.weekday()
            inside = earliest <= midnight and midnight + 86400 <= latest
            for _, taken, offsets in weekly:
                starts = offsets[weekday]
                if not starts:
                    continue
                if (inside and not taken) or has_free_offset(
                    starts, midnight, duration, taken, earliest, latest
                ):
                    # nothing claimed and the whole day bookable: any candidate will do
                    found.add(day)
                    break
        return found

    def day_slots(self, day: date) -> Sequence[Slot]:
        """Every free slot of ``day``, in order; with several people, one slot per start time
        (the first free person in catalog order takes it). Built when read (a screen shows a
        page of them)."""
        chosen: dict[int, tuple[StaffInfo, int]] = {}
        resources: set[str | None] = set()
        for person in self.people:
            for offset, moment in self._free(person, day):
                if offset not in chosen:
                    chosen[offset] = (person, moment)
                    resources.add(str(person.id))
        order = sorted(chosen)  # wall-clock order, as the datetime arithmetic sorted them
        zone, duration, derived = self.zone, self.duration, self.catalog.derived
        uniform = uniform_midnight(day, zone) is not None

        def build(index: int) -> Slot:
            # A slot is a value: the same person, day, start and length always give the same
            # one, so it is made once per catalog (aware datetimes and the id's ISO text cost
            # more than everything else on a slot screen).
            person, moment = chosen[order[index]]
            key = ("slot", person.id, day, order[index], self.duration_seconds)
            slot: Slot | None = derived.get(key)
            if slot is None:
                start = (
                    datetime.fromtimestamp(moment, zone)
                    if uniform
                    else datetime.combine(day, _clock(order[index]), tzinfo=zone)
                )
                slot = Slot(
                    id=f"{person.id}@{datetime.fromtimestamp(moment, UTC).isoformat()}",
                    start=start,
                    end=start + duration,
                    resource_id=str(person.id),
                    resource_name=person.name,
                )
                derived[key] = slot
            return slot

        return LazySlots(len(order), build, frozenset(resources))

    def is_free(self, person: StaffInfo, start: datetime) -> bool:
        """Whether ``start`` is one of ``person``'s free starts (what :meth:`day_slots` would
        list for them alone), without building the day's slots."""
        moment = start.timestamp()
        day = start.astimezone(self.zone).date()
        return any(free == moment for _, free in self._free(person, day))


def _clock(offset: int) -> time:
    return time(offset // 3600, offset % 3600 // 60, offset % 60)
