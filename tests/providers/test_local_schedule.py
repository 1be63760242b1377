"""The local calendar's integer slot arithmetic (epoch seconds, candidate starts computed once
per catalog) must give exactly what the datetime arithmetic of :mod:`providers.local.schedule`
gives: the same free days, the same slots (ids, starts, ends, who), the same answer to "is this
start still free", on ordinary days and on the DST days that keep the datetime path."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from providers.base import LazySlots, Slot, slot_resources
from providers.local.catalog import Catalog, StaffInfo
from providers.local.schedule import (
    BLOCK,
    Availability,
    blocks,
    days_between,
    has_free_start,
    iter_free_starts,
    uniform_midnight,
)

ZONES = ("Europe/Paris", "America/Santiago", "Australia/Lord_Howe", "UTC", "Asia/Kathmandu")


def _clock(minutes: int) -> time:
    return time(23, 59, 59) if minutes >= 24 * 60 else time(minutes // 60, minutes % 60)


def _random_person(rng: random.Random, staff_id: int) -> StaffInfo:
    open_hours: dict[int, list[tuple[time, time]]] = {}
    breaks: dict[int, list[tuple[time, time]]] = {}
    for weekday in range(7):
        if rng.random() < 0.15:
            continue  # closed that day
        start = rng.randrange(0, 12 * 12) * 5
        end = min(24 * 60, start + rng.randrange(6, 14 * 12) * 5)
        ranges = [(start, end)]
        if rng.random() < 0.3 and end + 30 < 24 * 60:
            ranges.append((end + 30, min(24 * 60, end + 30 + rng.randrange(6, 48) * 5)))
        open_hours[weekday] = [(_clock(a), _clock(b)) for a, b in ranges]
        if rng.random() < 0.6 and end - start > 60:
            pause = start + rng.randrange(1, (end - start - 30) // 5) * 5
            breaks[weekday] = [(_clock(pause), _clock(min(pause + 30, 24 * 60)))]
    return StaffInfo(
        id=staff_id,
        key=f"p{staff_id}",
        name=f"Person {staff_id}",
        service_ids=frozenset({1}),
        open_hours=open_hours,
        breaks=breaks,
    )


def _reference_slots(found: Availability, day: date) -> list[Slot]:
    """What the adapter computed before the integer arithmetic: datetimes all the way."""
    taken = {
        p.id: {datetime.fromtimestamp(b, UTC) for b in found.taken[p.id]} for p in found.people
    }
    by_start: dict[datetime, Slot] = {}
    for person in found.people:
        for start in iter_free_starts(
            person,
            day,
            found.duration,
            found.step,
            found.zone,
            taken[person.id],
            found.earliest,
            found.latest,
        ):
            by_start.setdefault(
                start,
                Slot(
                    id=f"{person.id}@{start.astimezone(UTC).isoformat()}",
                    start=start,
                    end=start + found.duration,
                    resource_id=str(person.id),
                    resource_name=person.name,
                ),
            )
    return [by_start[k] for k in sorted(by_start)]


def _scenario(seed: int) -> tuple[Availability, list[date]]:
    rng = random.Random(seed)
    zone = ZoneInfo(rng.choice(ZONES))
    people = [_random_person(rng, i) for i in range(1, rng.randrange(2, 4))]
    duration = timedelta(minutes=rng.choice((5, 15, 30, 45, 90, 120)))
    step = timedelta(minutes=rng.choice((5, 10, 15, 30)))
    # a month around a DST change of either hemisphere (or none, for UTC and Kathmandu)
    first = rng.choice((date(2027, 3, 20), date(2027, 3, 30), date(2027, 10, 20), date(2027, 9, 1)))
    days = list(days_between(first, first + timedelta(days=rng.randrange(10, 40))))
    earliest = datetime.combine(first, time(), tzinfo=zone) + timedelta(
        minutes=rng.randrange(0, 3 * 24 * 60), seconds=rng.choice((0, 0, 17)), microseconds=3
    )
    latest = earliest + timedelta(days=rng.randrange(5, 35), minutes=rng.randrange(0, 600))
    taken: dict[int, set[int]] = {}
    for person in people:
        claimed: set[int] = set()
        for _ in range(rng.choice((0, rng.randrange(0, 120)))):  # nothing claimed, often
            day = rng.choice(days)
            at = datetime.combine(day, time(), tzinfo=zone) + timedelta(
                minutes=rng.randrange(0, 24 * 12) * 5
            )
            for block in blocks(at, at + BLOCK * rng.randrange(1, 20)):
                claimed.add(int(block.timestamp()))
        taken[person.id] = claimed
    found = Availability(
        catalog=Catalog(services={}, staff={p.id: p for p in people}),
        people=people,
        taken=taken,
        duration=duration,
        step=step,
        earliest=earliest.astimezone(UTC),
        latest=latest.astimezone(UTC),
        zone=zone,
    )
    return found, days


@pytest.mark.parametrize("seed", range(40))
def test_integer_arithmetic_matches_the_datetime_arithmetic(seed: int) -> None:
    found, days = _scenario(seed)
    expected_days = set()
    for day in days:
        expected = _reference_slots(found, day)
        got = found.day_slots(day)
        assert list(got) == expected, (seed, day)
        assert [s.id for s in got] == [s.id for s in expected]
        assert slot_resources(got) == {s.resource_id for s in expected}
        taken_moments = {
            p.id: {datetime.fromtimestamp(b, UTC) for b in found.taken[p.id]} for p in found.people
        }
        if any(
            has_free_start(
                p,
                day,
                found.duration,
                found.step,
                found.zone,
                taken_moments[p.id],
                found.earliest,
                found.latest,
            )
            for p in found.people
        ):
            expected_days.add(day)
        for person in found.people:
            mine = set(
                iter_free_starts(
                    person,
                    day,
                    found.duration,
                    found.step,
                    found.zone,
                    taken_moments[person.id],
                    found.earliest,
                    found.latest,
                )
            )
            for slot in expected:
                assert found.is_free(person, slot.start) == (slot.start in mine)
            # a time that is never a start (off the step grid) is never free
            noon = datetime.combine(day, time(12, 1), tzinfo=found.zone)
            assert not found.is_free(person, noon)
    assert found.free_days(days[0], days[-1]) == expected_days


def test_dst_days_are_found_and_others_are_uniform() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert uniform_midnight(date(2027, 3, 28), paris) is None
    assert uniform_midnight(date(2027, 10, 31), paris) is None
    midnight = uniform_midnight(date(2027, 3, 29), paris)
    assert midnight == int(datetime(2027, 3, 28, 22, 0, tzinfo=UTC).timestamp())


def test_lazy_slots_build_only_what_is_read() -> None:
    built: list[int] = []
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)

    def build(index: int) -> Slot:
        built.append(index)
        at = start + timedelta(minutes=15 * index)
        return Slot(id=str(index), start=at, end=at + timedelta(minutes=15), resource_id="1")

    slots = LazySlots(30, build, frozenset({"1"}))
    assert len(slots) == 30 and bool(slots)
    page = slots[12:24]
    assert [s.id for s in page] == [str(i) for i in range(12, 24)]
    assert slots[-1].id == "29" and slots[12] is page[0]
    assert sorted(set(built)) == [*range(12, 24), 29] and len(built) == 13
    assert slot_resources(slots) == {"1"} and len(built) == 13
    with pytest.raises(IndexError):
        slots[30]
    assert [s.id for s in slots] == [str(i) for i in range(30)]
    assert not LazySlots(0, build, frozenset())
