"""What the bookingtime Module API answers, read: a BOOKING_TEMPLATE as the :class:`Template`
the adapter works with, LIST envelopes, and slot range listings as :class:`RawSlot` s (their
timestamps as PHP writes them included), and an APPOINTMENT as the
:class:`~providers.base.Booking` it made.

The guesses about these shapes are listed with the others in :mod:`providers.bookingtime.api`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.base import Booking, Money, ProviderUnavailable, Slot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    """A bookable staff member or room a template lets the customer choose."""

    id: str
    name: str


@dataclass(frozen=True)
class Template:
    """The parts of a BOOKING_TEMPLATE that drive the conversation."""

    id: str
    name: str
    duration: int
    price: Money | None
    show_price: bool
    description: str | None
    email_required: bool
    mobile_required: bool
    address_required: bool
    day_earliest: int
    #: ``None``: no window of its own (0/0), the platform's default horizon applies
    day_latest: int | None
    lead_time_minutes: int
    resources: tuple[Resource, ...]

    @property
    def offers_resource_choice(self) -> bool:
        return bool(self.resources)

    def resource_name(self, resource_id: str) -> str | None:
        return next((r.name for r in self.resources if r.id == resource_id), None)


@dataclass(frozen=True)
class RawSlot:
    id: str
    start: datetime
    resources: tuple[str, ...]


def _money(record: Mapping[str, Any]) -> Money | None:
    price = record.get("price")
    source: Mapping[str, Any] = price if isinstance(price, Mapping) else record
    gross, currency = source.get("priceGross"), source.get("currency")
    if gross is None or not currency:
        return None
    try:
        return Money(Decimal(str(gross)), str(currency))
    except InvalidOperation:
        return None


def resource_choice(record: Mapping[str, Any]) -> tuple[Resource, ...]:
    """The resources a template lets the customer choose between (GUESS about the shape).

    Assumed: ``bookingStepList`` holds steps, each possibly with a ``bookingResourceList`` of
    ``{"class": "BOOKING_RESOURCE", "id": "br...", "name": ...}``; any step that offers a
    resource list is a resource choice.
    """
    found: list[Resource] = []
    for step in record.get("bookingStepList") or ():
        if not isinstance(step, Mapping):
            continue
        for resource in step.get("bookingResourceList") or ():
            if isinstance(resource, Mapping) and resource.get("id"):
                found.append(Resource(str(resource["id"]), str(resource.get("name") or "")))
    return tuple(found)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_template(record: Mapping[str, Any]) -> Template:
    """A BOOKING_TEMPLATE record as the adapter uses it."""
    show_price = bool(record.get("showPrice", False))
    description = str(record.get("description") or "").strip() or None
    earliest = _int(record.get("bookingDayEarliest"), 0)
    latest: int | None = _int(record.get("bookingDayLatest"), 0)
    if earliest == 0 and latest == 0:
        latest = None  # unset: "today only" would hide every later day
    return Template(
        id=str(record["id"]),
        name=str(record.get("name") or ""),
        duration=_int(record.get("duration"), 0),
        price=_money(record) if show_price else None,
        show_price=show_price,
        description=description,
        email_required=bool(record.get("customerEmailRequired", False)),
        mobile_required=bool(record.get("customerMobileRequired", False)),
        address_required=bool(record.get("customerAddressRequired", False)),
        day_earliest=earliest,
        day_latest=latest,
        lead_time_minutes=_int(record.get("bookingLeadTime"), 0),
        resources=resource_choice(record),
    )


def list_records(content: Any) -> list[Mapping[str, Any]]:
    """The records of a LIST envelope's ``content``."""
    if not isinstance(content, Mapping):
        raise ValueError("expected a LIST")
    records = content.get("recordList")
    if not isinstance(records, list):
        raise ValueError("expected a recordList")
    return [r for r in records if isinstance(r, Mapping)]


def parse_slots(content: Any) -> list[RawSlot]:
    """The slots of a range listing.

    Seed 002 calls the list ``bookingSlotList``; the SDK's mocks call it ``list`` (class
    RANGE_LIST): both are accepted.
    """
    if not isinstance(content, Mapping):
        raise ValueError("expected a slot range")
    items = content.get("bookingSlotList")
    if items is None:
        items = content.get("list")
    if not isinstance(items, list):
        raise ValueError("expected a slot list")
    slots = []
    for item in items:
        try:
            slots.append(_slot(item))
        except (KeyError, TypeError, ValueError) as exc:
            # One item we cannot read must not hide the rest of the day.
            log.warning("bookingtime: skipped a slot it could not read (%s)", exc)
    return slots


def _slot(item: Any) -> RawSlot:
    if not isinstance(item, Mapping):
        raise TypeError("slot is not an object")
    start = parse_timestamp(str(item["timestamp"]))
    combination = tuple(str(r) for r in item.get("bookingResourceCombination") or ())
    return RawSlot(id=str(item["id"]), start=start, resources=combination)


#: An offset as PHP may write it: one hour digit (``+0:00``, ``-5:30``).
_SHORT_OFFSET = re.compile(r"([+-])(\d)(:?\d\d)$")


def parse_timestamp(value: str) -> datetime:
    """An aware datetime from an ISO 8601 timestamp, offsets as PHP writes them included
    (``2022-12-12T10:00:00+0:00``). ``ValueError`` without an offset or when unreadable."""
    text = _SHORT_OFFSET.sub(r"\g<1>0\g<2>\g<3>", value.strip())
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value[:40]!r}")
    return parsed


def parse_appointment(content: Any, template: Template | None, slot: Slot) -> Booking:
    """The booking an APPOINTMENT record (the answer to add or move) says was made for
    ``slot``; the template, when known, gives the service name and price."""
    if not isinstance(content, Mapping) or not content.get("id"):
        # The appointment may exist: say so rather than pretend nothing happened.
        raise ProviderUnavailable("the platform's answer to the booking could not be read")
    start = _datetime(content.get("start")) or slot.start
    end = _datetime(content.get("end")) or slot.end
    names = [
        str(r.get("name"))
        for r in content.get("bookingResourceList") or ()
        if isinstance(r, Mapping) and r.get("name")
    ]
    return Booking(
        ref=str(content["id"]),
        start=start,
        end=end,
        service_name=str(content.get("name") or (template.name if template else "")),
        resource_name=slot.resource_name or (names[0] if names else None),
        price=template.price if template else None,
    )


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
