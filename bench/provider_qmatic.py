"""Round trips and slot latency of one booking through the Qmatic adapter and its fake.

``round_trips``: platform requests on the critical path of one booking with a warm token and a
warm catalog, from tapping a date to the confirmation: the day's timeslots, the hold
(``POST /reservations``) and its confirmation (``PUT /reservations/{id}``). Qmatic's two-phase
booking makes the last two unavoidable.
``slots_ms``: time from tapping a date to having its slots, with ``latency_ms`` injected on every
request. The other figures put them in context: the month view (one timeslots request), the
whole booking from the first question with a warm cache, and a booking from cold (token and the
two catalog reads, issued together, included).
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

# bench/providers.py puts bench/ first on sys.path, where its own name shadows the `providers`
# package: put the project root first again and forget a wrongly imported module.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_shadow = sys.modules.get("providers")
if _shadow is not None and not hasattr(_shadow, "__path__"):
    del sys.modules["providers"]

from providers.base import ANY_OPTION, Selection  # noqa: E402
from tests.contract.targets.qmatic import CUSTOMER, make_provider  # noqa: E402
from tests.fakes.qmatic import QmaticFake  # noqa: E402

SELECTION = Selection(
    {
        "service_group": ("g-docs",),
        "service": ("svc-passport",),
        "branch": ("b-city",),
        "resource": (ANY_OPTION,),
        "party_size": ("1",),
    }
)
ANSWERS = {"screening:0": "yes", "information:0": "Renewal"}


async def _walk(fake: QmaticFake, latency_ms: float) -> dict[str, float]:
    provider = make_provider(fake)
    try:
        # Cold start: token, services and groups (concurrently), then the choose steps.
        cold_start = time.perf_counter()
        fake.control.latency_ms = latency_ms
        await provider.flow(Selection())
        for key in ("service_group", "service", "branch", "resource", "party_size"):
            await provider.options(key, SELECTION)
        catalog_ms = (time.perf_counter() - cold_start) * 1000
        cold_catalog = len(fake.requests)

        # The month view.
        mark = len(fake.requests)
        started = time.perf_counter()
        first = fake.today()
        days = await provider.available_days(SELECTION, first, first + timedelta(days=30))
        month_view_ms = (time.perf_counter() - started) * 1000
        month_round_trips = len(fake.requests) - mark

        # Tap a date, pick a slot (hold), answer, confirm: everything warm.
        mark = len(fake.requests)
        started = time.perf_counter()
        slots = await provider.slots(SELECTION, min(days))
        slots_ms = (time.perf_counter() - started) * 1000
        hold = await provider.hold(SELECTION, slots[0])
        await provider.questions(SELECTION)
        await provider.customer_form(SELECTION)
        await provider.book(SELECTION, slots[0], CUSTOMER, answers=ANSWERS, hold=hold)
        round_trips = len(fake.requests) - mark
        assert len(fake.active_appointments()) == 1 and not fake.live_reservations()
        return {
            "round_trips": float(round_trips),
            "slots_ms": round(slots_ms, 1),
            "month_view_round_trips": float(month_round_trips),
            "month_view_ms": round(month_view_ms, 1),
            "warm_booking_round_trips": float(month_round_trips + round_trips),
            "cold_round_trips": float(cold_catalog + month_round_trips + round_trips),
            "cold_catalog_ms": round(catalog_ms, 1),
            "latency_ms": latency_ms,
        }
    finally:
        assert provider.deps.http is not None
        await provider.deps.http.aclose()


async def measure(latency_ms: float) -> dict[str, float]:
    return await _walk(QmaticFake(), latency_ms)
