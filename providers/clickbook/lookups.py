"""The signed-in user's bookings, looked up on ClickBook (GETBOOKINGS).

Why a module of its own: the adapter never takes a silence for an answer. A booking request
whose answer was lost is settled by the engine's booking intent, which asks the adapter's
``find_booking`` (:func:`booking_of_slot` here) before anything is sent again; a cancel that
answered "not found" is checked before the engine says "cancelled" (:func:`is_booked`).
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from providers.base import Booking, Slot
from providers.clickbook import api, mapping
from providers.clickbook.api import Item
from providers.clickbook.client import ClickbookClient


async def bookings(
    client: ClickbookClient, user_key: str, first: date, last: date, client_file: str = ""
) -> list[Item]:
    """The user's bookings from ``first`` to ``last`` (their own and, for staff, their
    clients'); with ``client_file``, those made in that client file's context only."""
    found = await client.call(
        mapping.LIST_BOOKINGS,
        context="session",
        user_key=user_key,
        STARTDATE=api.format_day(first),
        ENDDATE=api.format_day(last),
        CONTEXTFORM=mapping.FORM_CLIENT_FILE if client_file else "",
        CONTEXTID=client_file,
    )
    return api.items(found, "BOOKING")


async def booking_of_slot(
    client: ClickbookClient,
    user_key: str,
    slot: Slot,
    zone: ZoneInfo,
    *,
    client_file: str = "",
    customer_ref: str | None = None,
) -> Booking | None:
    """The user's booking of ``slot`` (a staff member's: in ``client_file``'s context), if
    ClickBook has one; ``customer_ref`` goes into the :class:`Booking` as ``book`` puts it."""
    day = slot.start.astimezone(zone).date()
    for item in await bookings(client, user_key, day, day, client_file):
        if api.text(item, "TIMESLOTID") != slot.id:
            continue
        # Should the platform ignore the context filter (a guess), another client's booking
        # of this timeslot is still not this client's.
        if client_file and api.text(item, "CONTEXTID") not in ("", client_file):
            continue
        return api.booking_of(item, zone, customer_ref)
    return None


async def is_booked(client: ClickbookClient, user_key: str, booking_ref: str, today: date) -> bool:
    """Whether ``booking_ref`` stands, among the bookings from yesterday to a year ahead."""
    found = await bookings(client, user_key, today - timedelta(days=1), today + timedelta(days=366))
    return any(api.text(item, "BOOKINGID") == booking_ref for item in found)
