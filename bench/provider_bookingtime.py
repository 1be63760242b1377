"""Round trips and slot latency of one booking through the bookingtime adapter and its fake.

``round_trips``: platform requests on the critical path of one booking with warm tokens and a
warm catalog: tapping a date (``listDay``) and confirming (``appointment/add``).
``slots_ms``: time from tapping a date to having its slots, with ``latency_ms`` injected on
every request. The other figures put them in context: the month view, and a booking from cold
(both token grants and the template list included).
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

# bench/providers.py puts bench/ first on sys.path, where its own name shadows the `providers`
# package: put the project root first again and forget a wrongly imported module.
_ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, _ROOT)
_shadow = sys.modules.get("providers")
if _shadow is not None and not hasattr(_shadow, "__path__"):
    del sys.modules["providers"]

from tests.fakes.bookingtime import FakeBookingtime  # noqa: E402
from tests.fakes.bookingtime.world import CUSTOMER, TIMEZONE, bookingtime_world  # noqa: E402


async def measure(latency_ms: float) -> dict[str, float]:
    fake = FakeBookingtime()
    fake.control.latency = latency_ms / 1000
    async with bookingtime_world(fake, http_timeout=30.0) as world:
        provider = world.provider
        selection = world.any_resource(world.consultation)
        first = fake.clock().astimezone(TIMEZONE).date()

        # Cold start up to the month view: token chain, templates, one month listing.
        await provider.flow(selection)
        await provider.options("service", selection)
        await provider.options("resource", selection)
        started = time.perf_counter()
        days = await provider.available_days(selection, first, first + timedelta(days=27))
        month_view_ms = (time.perf_counter() - started) * 1000
        cold_before_day = len(fake.log)
        month_view_round_trips = len(fake.requests("/listMonth"))
        day = min(days)

        # The critical path with everything warm: tap a date, pick a slot, confirm.
        mark = len(fake.log)
        started = time.perf_counter()
        slots = await provider.slots(selection, day)
        slots_ms = (time.perf_counter() - started) * 1000
        await provider.customer_form(selection)  # cached catalog: no request
        await provider.book(selection, slots[0], CUSTOMER)
        round_trips = len(fake.log) - mark
        cold_round_trips = cold_before_day + round_trips

    return {
        "round_trips": float(round_trips),
        "slots_ms": round(slots_ms, 1),
        "month_view_round_trips": float(month_view_round_trips),
        "month_view_ms": round(month_view_ms, 1),
        "cold_round_trips": float(cold_round_trips),
        "latency_ms": latency_ms,
    }
