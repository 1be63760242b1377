"""The part of a booking every signed-in platform's bench times alike (ClicRDV, ClickBook).

From tapping a date to the confirmation: read the day's slots, sign in, list the account's
customer records, book the first slot. Timed from the tap; the round trips are the requests the
fake saw meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Sized
from dataclasses import dataclass
from datetime import date

from providers.base import BookingProvider, CustomerDetails, Selection


@dataclass(frozen=True)
class SignedInBooking:
    """What :func:`signed_in_booking` measured."""

    slots_ms: float
    booking_ms: float
    round_trips: int


async def signed_in_booking(
    provider: BookingProvider,
    requests: Sized,
    selection: Selection,
    day: date,
    account: tuple[str, str],
    customer: CustomerDetails,
) -> SignedInBooking:
    """Book ``day``'s first slot for ``customer`` after signing in with ``account`` (email,
    password); ``requests`` is the fake's growing list of the requests it received."""
    mark = len(requests)
    started = time.perf_counter()
    slots = await provider.slots(selection, day)
    slots_ms = (time.perf_counter() - started) * 1000
    await provider.sign_in(selection, *account)
    await provider.fiches(selection)
    await provider.book(selection, slots[0], customer)
    booking_ms = (time.perf_counter() - started) * 1000
    return SignedInBooking(slots_ms, booking_ms, len(requests) - mark)
