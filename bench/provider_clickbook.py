"""Start-up, round trips and slot latency of bookings through the ClickBook adapter and its fake.

``cold_start_ms`` / ``warm_start_ms``: reading and parsing the four WSDLs with an empty zeep cache
(fetched, concurrently) and with the cache a previous start filled (nothing fetched), each as a
new process would (the process's parsed documents forgotten); ``*_wsdl_requests`` count the
WSDL fetches. ``round_trips``: platform requests on the critical path of a booking by a
returning customer, from tapping a date to the confirmation (the day's timeslots, the JSON
sign-in, GETUSERINFO, BOOKTIMESLOT), catalog warm. ``new_customer_round_trips``: the same for a
customer who registers in the chat (time zones and countries, SETUSERFIELDS, PROCESSREGSTUB, then
sign-in and booking); ``*_sequential`` counts the waits (concurrent requests count once).
``slots_ms``: time from tapping a date to having its slots, ``latency_ms`` on every request.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_shadow = sys.modules.get("providers")
if _shadow is not None and not hasattr(_shadow, "__path__"):
    del sys.modules["providers"]

from provider_walk import signed_in_booking  # noqa: E402

from providers.base import CustomerDetails, Selection  # noqa: E402
from providers.clickbook import wsdl  # noqa: E402
from tests.fakes.clickbook import FakeClickbook, make_provider  # noqa: E402

EMAIL, PASSWORD = "bench@example.org", "bench-password-1"
NEW_EMAIL, NEW_PASSWORD = "new@example.org", "bench-password-2"
CUSTOMER = CustomerDetails(first_name="Ana", last_name="Lopez", phone="+33611223344", email=EMAIL)
SELECTION = Selection(
    {"location": ("L1",), "service": ("S1",), "staff": ("*",)}, user_key="tg:bench"
)
NEW = Selection(dict(SELECTION.choices), user_key="tg:new")
DETAILS = {
    "inp-firstname": "Nia",
    "inp-lastname": "Roy",
    "inp-telfixed": "+33611223355",
    "inp-timezone": "Europe/Paris",
    "inp-country": "FR",
    "inp-agreeterms": "1",
}


async def _start(fake: FakeClickbook, cache: Path) -> tuple[float, int]:
    wsdl._PARSED.clear()  # a new process has parsed nothing
    before = fake.wsdl_requests()
    provider = make_provider(fake, cache, fast_retries=False)
    started = time.perf_counter()
    problems = await provider.start()
    elapsed = (time.perf_counter() - started) * 1000
    assert problems == [], problems
    await provider.deps.http.aclose()  # type: ignore[union-attr]
    return elapsed, fake.wsdl_requests() - before


async def _walk(latency_ms: float) -> dict[str, float]:
    fake = FakeClickbook()
    fake.world.add_account(EMAIL, PASSWORD)
    fake.control.latency_ms = latency_ms
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder)
        cold_ms, cold_fetches = await _start(fake, cache)
        warm_ms, warm_fetches = await _start(fake, cache)
        provider = make_provider(fake, cache, fast_retries=False)
        await provider.start()
        for key in ("location", "service", "staff"):
            await provider.options(key, SELECTION)
        await provider.sign_up_form(NEW)  # time zones and countries: warm like the catalog
        first = fake.world.now().date()
        days = await provider.available_days(SELECTION, first, first + timedelta(days=30))

        walk = await signed_in_booking(
            provider, fake.requests, SELECTION, min(days), (EMAIL, PASSWORD), CUSTOMER
        )

        await provider.deps.http.aclose()  # type: ignore[union-attr]
        # A new customer on a provider whose catalog is warm but who is the first to register
        # (time zones and countries are read then, and cached like the catalog).
        provider = make_provider(fake, cache, fast_retries=False)
        await provider.start()
        for key in ("location", "service", "staff"):
            await provider.options(key, NEW)
        mark = len(fake.requests)
        started = time.perf_counter()
        slots = await provider.slots(NEW, min(days))
        await provider.sign_up_form(NEW)
        await provider.sign_up(NEW, NEW_EMAIL, details=DETAILS, password=NEW_PASSWORD)
        await provider.book(NEW, slots[0], CUSTOMER)
        new_ms = (time.perf_counter() - started) * 1000
        new_round_trips = len(fake.requests) - mark
        assert len(fake.world.live_bookings()) == 2
        await provider.deps.http.aclose()  # type: ignore[union-attr]
    return {
        "round_trips": float(walk.round_trips),
        "round_trips_sequential": float(walk.round_trips),
        "slots_ms": round(walk.slots_ms, 1),
        "date_to_confirmation_ms": round(walk.booking_ms, 1),
        "new_customer_round_trips": float(new_round_trips),
        # GETTIMEZONEINFO and GETCOUNTRIES go together
        "new_customer_round_trips_sequential": float(new_round_trips - 1),
        "new_customer_date_to_confirmation_ms": round(new_ms, 1),
        "cold_start_ms": round(cold_ms, 1),
        "cold_start_wsdl_requests": float(cold_fetches),
        "warm_start_ms": round(warm_ms, 1),
        "warm_start_wsdl_requests": float(warm_fetches),
    }


async def measure(latency_ms: float) -> dict[str, float]:
    """Figures of bookings through the ClickBook adapter, ``latency_ms`` on every request."""
    figures = await _walk(latency_ms)
    zero = await _walk(0.0)
    figures["slots_ms_no_latency"] = zero["slots_ms"]
    figures["cold_start_ms_no_latency"] = zero["cold_start_ms"]
    figures["warm_start_ms_no_latency"] = zero["warm_start_ms"]
    return figures
