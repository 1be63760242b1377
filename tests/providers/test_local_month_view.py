"""The local calendar's month view stops at each day's first free start: it must name exactly
the days that have a free slot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.config import AppConfig
from bot.services import build_services
from providers.base import CustomerDetails, Selection
from providers.local.adapter import LocalProvider

CUSTOMER = CustomerDetails(first_name="Anna", last_name="Martin", phone="+33612345678")
#: Monday 2027-03-01, 08:00 in Paris
NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)


async def test_month_view_names_exactly_the_days_with_a_free_slot(
    sample_config: AppConfig,
) -> None:
    services = await build_services(sample_config, env={}, clock=lambda: NOW)
    try:
        provider = services.providers["sample-salon"]
        assert isinstance(provider, LocalProvider)
        colour = next(
            o for o in await provider.options("service", Selection()) if o.label == "Colour"
        )
        selection = Selection({"service": (colour.id,)})
        # Fill Tuesday 2 March: Colour (90 min) is only done by Anna, so book her whole day.
        tuesday = date(2027, 3, 2)
        while slots := await provider.slots(selection, tuesday):
            await provider.book(selection, slots[0], CUSTOMER)
        # and one more booking on Wednesday, which still has room
        await provider.book(
            selection, (await provider.slots(selection, date(2027, 3, 3)))[0], CUSTOMER
        )

        first, last = date(2027, 3, 1), date(2027, 3, 31)
        days = await provider.available_days(selection, first, last)
        every_day = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        with_slots = {day for day in every_day if await provider.slots(selection, day)}
        assert days == with_slots
        assert tuesday not in days
        assert date(2027, 3, 3) in days
        # Saturday 6 March: Anna works 09:00-13:00, so a 90-minute colour still fits.
        assert date(2027, 3, 6) in days
    finally:
        await services.aclose()


async def test_nothing_past_the_horizon_or_before_the_lead_time_is_bookable(
    sample_config: AppConfig,
) -> None:
    services = await build_services(sample_config, env={}, clock=lambda: NOW)
    try:
        provider = services.providers["sample-salon"]
        cut = next(
            o for o in await provider.options("service", Selection()) if o.label == "Haircut"
        )
        selection = Selection({"service": (cut.id,)})
        # horizon 60 days from Monday 1 March 08:00: the last bookable day is Friday 30 April
        assert (
            await provider.available_days(selection, date(2027, 5, 1), date(2027, 5, 31)) == set()
        )
        april = await provider.available_days(selection, date(2027, 4, 1), date(2027, 4, 30))
        assert date(2027, 4, 30) in april
        # lead time 60 minutes: on 1 March nothing starts before 09:00
        today = await provider.slots(selection, date(2027, 3, 1))
        assert today and min(s.start for s in today) >= NOW + timedelta(minutes=60)
    finally:
        await services.aclose()
