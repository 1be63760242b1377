"""The ClicRDV group's settings decide the flow, the options and what they show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal

import pytest

from providers.base import (
    ANY_OPTION,
    AuthFailed,
    CustomerDetails,
    Money,
    NotBookable,
    Selection,
    Slot,
)
from providers.clicrdv import ClicrdvProvider
from tests.fakes.clicrdv import FakeClicrdv, build_fake, make_provider

EMAIL = "ana@example.org"
PASSWORD = "pw-of-ana"
USER = "tg:7"
CUSTOMER = CustomerDetails(first_name="Ana", last_name="Lopez", phone="0611223344", email=EMAIL)


@asynccontextmanager
async def wired(fake: FakeClicrdv) -> AsyncIterator[ClicrdvProvider]:
    provider = make_provider(fake)
    try:
        yield provider
    finally:
        assert provider.deps.http is not None
        await provider.deps.http.aclose()


def pick(selection: Selection, key: str, *ids: str) -> Selection:
    choices = dict(selection.choices)
    choices[key] = tuple(ids)
    return Selection(choices, selection.language, selection.user_key)


async def first_slot(provider: ClicrdvProvider, selection: Selection, fake: FakeClicrdv) -> Slot:
    today = fake.now().date()
    days = await provider.available_days(selection, today, today + timedelta(days=14))
    slots = await provider.slots(selection, min(days))
    return slots[0]


def keys(steps: object) -> list[str]:
    return [s.key for s in steps]  # type: ignore[attr-defined]


async def test_service_first_group_asks_the_service_before_the_calendar() -> None:
    async with wired(build_fake(service_first=True)) as provider:
        steps = await provider.flow(Selection(user_key=USER))
    assert keys(steps) == [
        "service",
        "calendar",
        "date",
        "slot",
        "sign_in",
        "customer",
        "confirm",
    ]


async def test_calendar_first_group_asks_the_calendar_before_the_service() -> None:
    async with wired(build_fake(service_first=False)) as provider:
        steps = await provider.flow(Selection(user_key=USER))
    assert keys(steps)[:2] == ["calendar", "service"]


@pytest.mark.parametrize("service_first", [True, False])
async def test_category_step_comes_first_only_when_services_are_grouped(
    service_first: bool,
) -> None:
    async with wired(build_fake(service_first=service_first, grouped=True)) as provider:
        grouped = keys(await provider.flow(Selection(user_key=USER)))
    async with wired(build_fake(service_first=service_first, grouped=False)) as provider:
        flat = keys(await provider.flow(Selection(user_key=USER)))
    assert grouped[0] == "category"
    assert "category" not in flat
    assert grouped[1:] == flat


async def test_chosen_category_filters_the_services() -> None:
    async with wired(build_fake(grouped=True)) as provider:
        categories = await provider.options("category", Selection(user_key=USER))
        assert [c.label for c in categories] == ["Haircuts", "Colour"]
        haircuts = pick(Selection(user_key=USER), "category", categories[0].id)
        colour = pick(Selection(user_key=USER), "category", categories[1].id)
        assert [o.label for o in await provider.options("service", haircuts)] == ["Cut", "Beard"]
        assert [o.label for o in await provider.options("service", colour)] == ["Colour"]


async def test_service_first_calendars_are_those_offering_the_chosen_service() -> None:
    async with wired(build_fake(service_first=True)) as provider:
        colour = pick(Selection(user_key=USER), "service", "23")
        cut = pick(Selection(user_key=USER), "service", "21")
        assert [o.label for o in await provider.options("calendar", colour)] == ["Alice"]
        assert [o.label for o in await provider.options("calendar", cut)] == ["Alice", "Bob"]


async def test_calendar_first_services_are_those_the_calendar_offers() -> None:
    async with wired(build_fake(service_first=False)) as provider:
        bob = pick(Selection(user_key=USER), "calendar", "16")
        assert [o.label for o in await provider.options("service", bob)] == ["Cut", "Beard"]


async def test_calendar_first_services_are_read_with_the_documented_calendar_filter() -> None:
    fake = build_fake(service_first=False)
    async with wired(fake) as provider:
        alice = pick(Selection(user_key=USER), "calendar", "15")
        assert [o.label for o in await provider.options("service", alice)] == [
            "Cut",
            "Beard",
            "Colour",
        ]
        await provider.options("service", alice)  # cached like the rest of the catalog
    filtered = [r for r in fake.requests if "calendar_ids[]" in r.query]
    assert [(r.path.rsplit("/", 1)[-1], r.query["calendar_ids[]"]) for r in filtered] == [
        ("interventions.json", ["15"])
    ]


@pytest.mark.parametrize("any_calendar", [True, False])
async def test_any_calendar_is_offered_only_when_the_group_allows_it(any_calendar: bool) -> None:
    async with wired(build_fake(any_calendar=any_calendar)) as provider:
        selection = pick(Selection(user_key=USER, language="fr"), "service", "21")
        ids = [o.id for o in await provider.options("calendar", selection)]
    assert (ids[0] == ANY_OPTION) is any_calendar
    assert ids[-2:] == ["15", "16"]


async def test_booking_with_any_calendar_lets_the_platform_assign_one() -> None:
    fake = build_fake(any_calendar=True)
    fake.add_account(EMAIL, PASSWORD)
    async with wired(fake) as provider:
        selection = pick(pick(Selection(user_key=USER), "service", "21"), "calendar", ANY_OPTION)
        await provider.sign_in(selection, EMAIL, PASSWORD)
        slot = await first_slot(provider, selection, fake)
        assert slot.resource_id is None
        await provider.book(selection, slot, CUSTOMER)
    (appointment,) = fake.live_appointments()
    assert appointment.calendar_id in (15, 16)
    posted = fake.requests[-1]
    assert b'"calendar_id"' not in posted.body


@pytest.mark.parametrize("shown", [True, False])
async def test_display_flags_decide_whether_length_and_price_are_shown(shown: bool) -> None:
    async with wired(build_fake(display_length=shown, display_price=shown)) as provider:
        cut = (await provider.options("service", Selection(user_key=USER)))[0]
    if shown:
        assert cut.duration_minutes == 30
        assert cut.price == Money(Decimal("25.00"), "EUR")
    else:
        assert cut.duration_minutes is None and cut.price is None


async def test_length_and_price_flags_are_independent() -> None:
    async with wired(build_fake(display_length=True, display_price=False)) as provider:
        cut = (await provider.options("service", Selection(user_key=USER)))[0]
    assert cut.duration_minutes == 30 and cut.price is None


async def test_max_multirdvs_lets_one_appointment_hold_several_services() -> None:
    fake = build_fake(max_multirdvs=3)
    fake.add_account(EMAIL, PASSWORD)
    async with wired(fake) as provider:
        steps = await provider.flow(Selection(user_key=USER))
        service = next(s for s in steps if s.key == "service")
        assert service.max_picks == 3
        selection = pick(pick(Selection(user_key=USER), "service", "21", "22"), "calendar", "16")
        await provider.sign_in(selection, EMAIL, PASSWORD)
        slot = await first_slot(provider, selection, fake)
        assert slot.end - slot.start == timedelta(minutes=60)
        booking = await provider.book(selection, slot, CUSTOMER)
    assert booking.service_name == "Cut, Beard"
    assert booking.price == Money(Decimal("37.50"), "EUR")
    (appointment,) = fake.live_appointments()
    assert appointment.intervention_ids == [21, 22]


async def test_single_service_groups_have_a_single_pick_service_step() -> None:
    async with wired(build_fake(max_multirdvs=1)) as provider:
        steps = await provider.flow(Selection(user_key=USER))
    assert next(s for s in steps if s.key == "service").max_picks == 1


@pytest.mark.parametrize(
    ("settings", "text"),
    [({"inactive": True}, "not active"), ({"open": False}, "not taking online appointments")],
)
async def test_inactive_or_closed_group_is_not_bookable(
    settings: dict[str, bool], text: str
) -> None:
    async with wired(build_fake(**settings)) as provider:  # type: ignore[arg-type]
        with pytest.raises(NotBookable) as refused:
            await provider.flow(Selection(user_key=USER))
    assert text in str(refused.value)
    assert "Salon Test" in str(refused.value)


async def test_group_settings_are_read_once_within_the_catalog_ttl() -> None:
    fake = build_fake(grouped=True)
    async with wired(fake) as provider:
        for _ in range(3):
            await provider.flow(Selection(user_key=USER))
            await provider.options("service", Selection(user_key=USER))
    assert fake.count("/groups/4.json") == 1
    assert fake.count("/interventionsets.json") == 1
    assert fake.count("/interventions.json") == 1


async def test_group_settings_switched_on_the_platform_apply_after_the_ttl() -> None:
    fake = build_fake(service_first=True)
    provider = make_provider(fake, settings={"catalog_ttl_seconds": 0})
    try:
        assert keys(await provider.flow(Selection(user_key=USER)))[0] == "service"
        fake.group.calendarChoice = 1
        assert keys(await provider.flow(Selection(user_key=USER)))[0] == "calendar"
    finally:
        assert provider.deps.http is not None
        await provider.deps.http.aclose()


# -- accounts and fiches ------------------------------------------------------------------------
async def test_fiches_lists_the_signed_in_accounts_fiches_in_the_group() -> None:
    fake = build_fake()
    ana = fake.add_account(EMAIL, PASSWORD)
    other = fake.add_account("bo@example.org", "x")
    fake.add_fiche(ana, firstname="Ana", lastname="Lopez", email=EMAIL)
    fake.add_fiche(ana, firstname="Leo", lastname="Lopez", birthdate="2015-04-02")
    fake.add_fiche(other, firstname="Bo", lastname="Berg")
    async with wired(fake) as provider:
        selection = Selection(user_key=USER)
        assert await provider.fiches(selection) == ()
        await provider.sign_in(selection, EMAIL, PASSWORD)
        fiches = await provider.fiches(selection)
    assert [f.label for f in fiches] == ["Ana Lopez", "Leo Lopez"]
    assert fiches[1].customer.birth_date is not None
    assert fiches[1].customer.provider_ref == fiches[1].provider_ref


async def test_booking_for_a_stored_fiche_uses_it_and_returns_its_id() -> None:
    fake = build_fake()
    ana = fake.add_account(EMAIL, PASSWORD)
    leo = fake.add_fiche(ana, firstname="Leo", lastname="Lopez", firstphone="01")
    async with wired(fake) as provider:
        selection = pick(pick(Selection(user_key=USER), "service", "21"), "calendar", "15")
        await provider.sign_in(selection, EMAIL, PASSWORD)
        (fiche,) = [f for f in await provider.fiches(selection) if f.label == "Leo Lopez"]
        updated = CustomerDetails(
            first_name="Leo", last_name="Lopez", phone="0699", provider_ref=fiche.provider_ref
        )
        booking = await provider.book(
            selection, await first_slot(provider, selection, fake), updated
        )
    assert booking.customer_ref == str(leo.id)
    assert len(fake.fiches) == 1, "no new fiche is created"
    assert fake.fiches[leo.id].firstphone == "0699"


async def test_booking_for_a_new_person_creates_a_fiche_and_returns_its_id() -> None:
    fake = build_fake()
    fake.add_account(EMAIL, PASSWORD)
    async with wired(fake) as provider:
        selection = pick(pick(Selection(user_key=USER), "service", "21"), "calendar", "15")
        await provider.sign_in(selection, EMAIL, PASSWORD)
        booking = await provider.book(
            selection, await first_slot(provider, selection, fake), CUSTOMER
        )
        listed = await provider.appointments(selection)
    (fiche,) = fake.fiches.values()
    assert booking.customer_ref == str(fiche.id)
    assert (fiche.firstname, fiche.lastname, fiche.email) == ("Ana", "Lopez", EMAIL)
    assert booking.resource_name == "Alice"
    assert [b.ref for b in listed] == [booking.ref]
    assert listed[0].start == booking.start


async def test_sign_up_creates_an_account_and_an_existing_email_means_sign_in() -> None:
    fake = build_fake()
    async with wired(fake) as provider:
        account = await provider.sign_up(Selection(user_key=USER), "new@example.org")
        assert account.email == "new@example.org" and account.ref
        assert "new@example.org" in fake.accounts
        with pytest.raises(AuthFailed):
            await provider.sign_up(Selection(user_key=USER), "new@example.org")


async def test_sessions_are_per_user() -> None:
    fake = build_fake()
    fake.add_account(EMAIL, PASSWORD)
    async with wired(fake) as provider:
        ana = Selection(user_key="tg:1")
        await provider.sign_in(ana, EMAIL, PASSWORD)
        await provider.fiches(ana)
        await provider.options("service", ana)
        assert await provider.fiches(Selection(user_key="tg:2")) == ()
        assert provider.deps.http is not None
        assert "_session_id" not in provider.deps.http.cookies
        catalog = [r for r in fake.requests if r.path.endswith("/interventions.json")]
    assert catalog and all("cookie" not in r.headers for r in catalog)
    fiches_calls = [r for r in fake.requests if r.path.endswith("/fiches.json")]
    assert len(fiches_calls) == 1 and "_session_id=" in fiches_calls[0].headers["cookie"]
