"""Qmatic's timeslots on the wire: the query that lists them, the items of the answer, the
times in them (a time without an offset is in the branch's zone when the branch names one, else
in the business's) and the slot id that carries the platform's own strings back into a
reservation. The guesses about these shapes are listed in :mod:`providers.qmatic.api`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from providers.base import Slot


def timeslot_query(
    branch_id: str,
    party_size: int,
    resource_id: str | None,
    first: date,
    last: date,
) -> dict[str, str]:
    query = {
        "branchId": branch_id,
        "numberOfReservations": str(party_size),
        "fromDate": first.isoformat(),  # GUESS
        "toDate": last.isoformat(),  # GUESS
    }
    if resource_id:
        query["requestedResourceId"] = resource_id
    return query


def timeslot_items(body: Any) -> list[Mapping[str, Any]]:
    """The ``{startTime, endTime}`` items of a timeslots answer (GUESS: bare list or wrapped)."""
    if isinstance(body, Mapping):
        body = body.get("timeslots", body.get("timeSlots"))
    if not isinstance(body, list):
        raise ValueError("timeslots answer is not a list")
    return [item for item in body if isinstance(item, Mapping)]


def branch_zone(branch: Mapping[str, Any]) -> ZoneInfo | None:
    """The branch's time zone when its record names one (GUESS: ``timeZone``, Orchestra's key;
    ``timezone`` and ``timeZoneId`` are read too); ``None`` when it names none we know."""
    for key in ("timeZone", "timezone", "timeZoneId"):
        value = branch.get(key)
        if isinstance(value, str) and value:
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                return None
    return None


def parse_time(value: Any, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time from Qmatic; one without an offset is in ``tz`` (the branch's zone when
    it names one, else the business's)."""
    if not isinstance(value, str):
        raise ValueError("time is not a string")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def slot_id(start: str, end: str) -> str:
    # The platform's own strings travel back in the reservation, unchanged.
    return f"{start}|{end}"


def slot_times(slot: Slot) -> tuple[str, str]:
    start, sep, end = slot.id.partition("|")
    if not sep:  # a slot not made by this adapter: send its times
        return slot.start.isoformat(), slot.end.isoformat()
    return start, end
