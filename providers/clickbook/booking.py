"""The two requests that change a ClickBook calendar: BOOKTIMESLOT and CANCELBOOKING.

Why a module of its own: both are sent once (``idempotent=False``, never retried by the
client), and their answers are read the same way (a RESULT's code, see :mod:`.errors`). A
booking request that got no answer is not sent again from here: the engine's booking intent
looks it up first (the adapter's ``find_booking``, :mod:`.lookups`).
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.base import Booking, ProviderUnavailable, Selection, Slot
from providers.clickbook import api, mapping
from providers.clickbook.client import ClickbookClient
from providers.clickbook.errors import result_error


async def book_timeslot(
    client: ClickbookClient, selection: Selection, slot: Slot, file_id: str, own: str | None
) -> Booking:
    """BOOKTIMESLOT in the client file ``file_id``'s context, or the signed-in user's own
    (``""``); ``own``: the reference of the customer's own record, when the booking is for
    them. The booking's service name is left to the caller (it is in the catalog)."""
    result = await client.call(
        mapping.BOOK,
        context="booking",
        user_key=selection.user_key,
        idempotent=False,
        TIMESLOTID=slot.id,
        SERVICEID=selection.one("service") or "",
        CONTEXTFORM=mapping.FORM_CLIENT_FILE if file_id else "",
        CONTEXTID=file_id,
        NOTES="Booked through the Telegram assistant",
    )
    result = result if isinstance(result, Mapping) else {}
    error = result_error(result, "booking")
    if error is not None:
        raise error
    ref = api.text(result, mapping.RESULT_INFO)
    if not ref:
        # Unanswered, not refused: the engine looks it up.
        raise ProviderUnavailable("ClickBook answered no booking id")
    return Booking(
        ref=ref,
        start=slot.start,
        end=slot.end,
        service_name="",
        resource_name=slot.resource_name,
        customer_ref=file_id or own,
    )


async def cancel_booking(client: ClickbookClient, user_key: str, booking_ref: str) -> None:
    """CANCELBOOKING of ``booking_ref`` in the signed-in user's session."""
    result = await client.call(
        mapping.CANCEL,
        context="session",
        user_key=user_key,
        idempotent=False,
        BOOKINGID=booking_ref,
    )
    error = result_error(result if isinstance(result, Mapping) else {}, "booking")
    if error is not None:
        raise error
