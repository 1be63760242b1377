"""Round trips and slot latency of one booking through the ClicRDV adapter and its fake.

``round_trips``: platform requests on the critical path of one booking with a warm catalog
(group settings, categories, services, calendars cached), from tapping a date to the
confirmation: the day's ``availabletimeslots``, the session login, the account's fiches (with
the session read back beside them), the session read back before the write, and the appointment
creation. ClicRDV books as a signed-in Account and answers no 401 for a lost session, so the
login, the fiche list and the read-backs are part of the platform's required path.
``slots_ms``: time from tapping a date to having its slots, with ``latency_ms`` injected on every
request. ``week_ms`` is the time to know which days of a week have slots (one request for the
whole week), ``month_view_ms`` the same for a month view. ``cold_round_trips`` counts a booking
from an empty cache (group settings and categories are read concurrently).
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

from provider_walk import signed_in_booking  # noqa: E402

from providers.base import CustomerDetails, Selection  # noqa: E402
from tests.fakes.clicrdv import FakeClicrdv, build_fake, make_provider  # noqa: E402

EMAIL = "bench@example.org"
PASSWORD = "bench-password"
CUSTOMER = CustomerDetails(first_name="Ana", last_name="Lopez", phone="0611223344", email=EMAIL)
SELECTION = Selection(
    {"category": ("9",), "service": ("21",), "calendar": ("15",)}, user_key="tg:bench"
)


async def _walk(fake: FakeClicrdv, latency_ms: float) -> dict[str, float]:
    provider = make_provider(fake, fast_retries=False)
    try:
        fake.control.latency_ms = latency_ms
        # Cold start: group settings + categories (together), then the choose steps.
        started = time.perf_counter()
        await provider.flow(SELECTION)
        for key in ("category", "service", "calendar"):
            await provider.options(key, SELECTION)
        catalog_ms = (time.perf_counter() - started) * 1000
        cold_catalog = len(fake.requests)

        first = fake.now().date()
        mark = len(fake.requests)
        started = time.perf_counter()
        await provider.available_days(SELECTION, first, first + timedelta(days=6))
        week_ms = (time.perf_counter() - started) * 1000
        week_round_trips = len(fake.requests) - mark

        mark = len(fake.requests)
        started = time.perf_counter()
        days = await provider.available_days(SELECTION, first, first + timedelta(days=30))
        month_view_ms = (time.perf_counter() - started) * 1000
        month_round_trips = len(fake.requests) - mark

        # Tap a date, pick a slot, sign in, pick a fiche, confirm: catalog warm.
        walk = await signed_in_booking(
            provider, fake.requests, SELECTION, min(days), (EMAIL, PASSWORD), CUSTOMER
        )
        assert len(fake.live_appointments()) == 1
        return {
            "round_trips": float(walk.round_trips),
            "slots_ms": round(walk.slots_ms, 1),
            "week_round_trips": float(week_round_trips),
            "week_ms": round(week_ms, 1),
            "month_view_round_trips": float(month_round_trips),
            "month_view_ms": round(month_view_ms, 1),
            "date_to_confirmation_ms": round(walk.booking_ms, 1),
            "cold_catalog_round_trips": float(cold_catalog),
            "cold_catalog_ms": round(catalog_ms, 1),
            "cold_round_trips": float(cold_catalog + month_round_trips + walk.round_trips),
        }
    finally:
        if provider.deps.http is not None:
            await provider.deps.http.aclose()


async def measure(latency_ms: float) -> dict[str, float]:
    """Figures of one booking through the ClicRDV adapter, ``latency_ms`` on every request."""
    fake = build_fake(grouped=True)
    fake.add_account(EMAIL, PASSWORD)
    figures = await _walk(fake, latency_ms)
    fake0 = build_fake(grouped=True)
    fake0.add_account(EMAIL, PASSWORD)
    zero = await _walk(fake0, 0.0)
    figures["slots_ms_no_latency"] = zero["slots_ms"]
    return figures
