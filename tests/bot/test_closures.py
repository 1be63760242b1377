"""Closing days and blocking time ranges of the local calendar, from Telegram (/close,
/reopen) and the configuration: no time is offered then, bookings already there stay, a
booking racing a closure cannot take a closed block, and only the business's admins may."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.services import Services, build_services
from providers.base import CustomerDetails, Selection, SlotTaken
from providers.local.settings import LocalSettings
from storage.admin_models import AuditEntry
from storage.models import Admin, LocalClosure
from tests.bot.harness import running_bot

ADMIN, CUSTOMER = 50, 70
#: Monday 2027-03-01, 08:00 in Paris
NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
TUESDAY, WEDNESDAY, THURSDAY = date(2027, 3, 2), date(2027, 3, 3), date(2027, 3, 4)


@pytest.fixture
async def salon(sample_config: AppConfig) -> AsyncIterator[Services]:
    built = await build_services(sample_config, env={}, clock=lambda: NOW)
    async with built.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=built.business_ids["sample-salon"], role="admin"))
    yield built
    await built.aclose()


async def haircut(services: Services, staff: str | None = None) -> Selection:
    provider = services.providers["sample-salon"]
    cut = next(o for o in await provider.options("service", Selection()) if o.label == "Haircut")
    if staff is None:
        return Selection({"service": (cut.id,)})
    person = next(
        o
        for o in await provider.options("staff", Selection({"service": (cut.id,)}))
        if o.label == staff
    )
    return Selection({"service": (cut.id,), "staff": (person.id,)})


async def days(services: Services, selection: Selection) -> set[date]:
    return await services.providers["sample-salon"].available_days(selection, TUESDAY, THURSDAY)


async def test_a_closed_day_and_a_blocked_range_offer_no_time_until_reopened(
    salon: Services,
) -> None:
    provider = salon.providers["sample-salon"]
    anyone, anna = await haircut(salon), await haircut(salon, "Anna")
    # a booking with Anna on Wednesday at 14:00 stays when her afternoon is blocked
    kept = next(
        s
        for s in await provider.slots(anna, WEDNESDAY)
        if s.start.astimezone(PARIS).time() == time(14)
    )
    await provider.book(anna, kept, CustomerDetails(first_name="K", last_name="Ept"))
    async with running_bot(salon, user_id=ADMIN) as admin:
        await admin.send("/close all 2027-03-02 Inventory")
        assert admin.text == "Salon Belle Rue: 2 closure(s) added."
        await admin.send("/close anna 2027-03-03 13:30-18:00 Training")
        assert admin.text.splitlines() == [
            "Salon Belle Rue: 1 closure(s) added.",
            "1 booking(s) already in that time are kept: open them from /today or /week to "
            "cancel them.",
        ]
        await admin.send("/close")
        listed = admin.text.splitlines()
        assert [line.split(" · ")[2] for line in listed if line.startswith("#")] == [
            "Anna",
            "Marc",
            "Anna",
        ]
        assert listed[-1].endswith("Training")
    assert TUESDAY not in await days(salon, anyone)
    afternoon = [s.start.astimezone(PARIS).time() for s in await provider.slots(anna, WEDNESDAY)]
    assert afternoon and max(afternoon) < time(13, 30)
    marc = [
        s.start.astimezone(PARIS).time()
        for s in await provider.slots(await haircut(salon, "Marc"), WEDNESDAY)
    ]
    assert max(marc) > time(16)  # Marc's afternoon is open
    async with salon.sessions() as s:
        first = min(await s.scalars(select(LocalClosure.id)))
    async with running_bot(salon, user_id=ADMIN) as admin:
        await admin.send(f"/reopen {first}")
        assert admin.text == f"Closure #{first} removed: those times can be booked again."
        await admin.send(f"/reopen {first}")
        assert admin.text == f"There is no closure #{first} at your businesses."
    assert TUESDAY in await days(salon, anna)  # Anna's Tuesday is open again
    assert not await provider.slots(await haircut(salon, "Marc"), TUESDAY)  # Marc's is not
    async with salon.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["close", "close", "reopen"]


async def test_a_slot_offered_before_the_closure_cannot_be_booked_after_it(
    salon: Services,
) -> None:
    provider = salon.providers["sample-salon"]
    anna = await haircut(salon, "Anna")
    offered = (await provider.slots(anna, THURSDAY))[0]
    async with running_bot(salon, user_id=ADMIN) as admin:
        await admin.send("/close anna 2027-03-04")
    with pytest.raises(SlotTaken):
        await provider.book(anna, offered, CustomerDetails(first_name="L", last_name="Ate"))


async def test_close_is_refused_like_an_unknown_command_and_checks_what_it_is_given(
    salon: Services,
) -> None:
    async with running_bot(salon, user_id=CUSTOMER) as customer:
        await customer.send("/frobnicate")
        unknown = customer.text
        await customer.send("/close all 2027-03-02")
        assert customer.text == unknown
        await customer.send("/reopen 1")
        assert customer.text == unknown
    async with running_bot(salon, user_id=ADMIN) as admin:
        for bad in (
            "/close zoe 2027-03-02",
            "/close all tuesday",
            "/close all 2027-03-04 2027-03-02",
            "/close anna 2027-03-02 25:00-26:00",
        ):
            await admin.send(bad)
            assert admin.text.startswith("Send /close [business]"), bad
    async with salon.sessions() as s:
        assert list(await s.scalars(select(LocalClosure))) == []


async def test_the_configurations_closures_are_written_at_start_up(
    sample_config: AppConfig,
) -> None:
    business = sample_config.businesses[0]
    settings = dict(business.settings)
    settings["closures"] = [{"from": "2027-03-02", "to": "2027-03-03", "reason": "Holiday"}]
    LocalSettings.model_validate(settings)
    config = sample_config.model_copy(
        update={"businesses": [business.model_copy(update={"settings": settings})]}
    )
    for _ in range(2):  # a restart writes them anew, not twice
        services = await build_services(config, env={}, clock=lambda: NOW)
        try:
            assert await days(services, await haircut(services)) == {THURSDAY}
            async with services.sessions() as s:
                assert len(list(await s.scalars(select(LocalClosure)))) == 2  # one range x 2 staff
        finally:
            await services.aclose()
