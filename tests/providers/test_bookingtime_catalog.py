"""Templates as services, the resource step, the customer form, locales, the booking window and
how few requests availability costs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from providers.base import ANY_OPTION, CustomerField, Money
from tests.fakes.bookingtime import FakeBookingtime
from tests.fakes.bookingtime.world import CUSTOMER, TIMEZONE, World, bookingtime_world


def today(world: World) -> date:
    return world.fake.clock().astimezone(TIMEZONE).date()


# -- services and steps ------------------------------------------------------------------------


async def test_templates_are_the_services_with_price_only_when_shown() -> None:
    async with bookingtime_world() as world:
        options = {o.id: o for o in await world.provider.options("service", world.selection())}
        haircut, consultation = options[world.haircut.id], options[world.consultation.id]
        assert (haircut.label, haircut.duration_minutes) == ("Haircut", 30)
        assert haircut.price == Money(Decimal("25.0"), "EUR")
        assert haircut.description == "Wash, cut and dry"
        assert (consultation.label, consultation.duration_minutes) == ("Consultation", 60)
        assert consultation.price is None  # showPrice is false
        assert consultation.description is None


async def test_flow_declares_the_resource_step_when_any_template_offers_a_choice() -> None:
    async with bookingtime_world() as world:
        steps = await world.provider.flow(world.selection())
        assert [(s.kind, s.key) for s in steps] == [
            ("choose", "service"),
            ("choose", "resource"),
            ("date", "date"),
            ("slot", "slot"),
            ("customer", "customer"),
            ("confirm", "confirm"),
        ]


async def test_flow_has_no_resource_step_when_no_template_offers_a_choice() -> None:
    fake = FakeBookingtime()
    for template in fake.organization.templates.values():
        template.choice = False
    async with bookingtime_world(fake) as world:
        keys = [s.key for s in await world.provider.flow(world.selection())]
        assert "resource" not in keys


async def test_resource_options_are_the_choice_of_the_template_plus_any() -> None:
    async with bookingtime_world() as world:
        with_choice = await world.provider.options("resource", world.selection(world.consultation))
        assert [o.id for o in with_choice] == [ANY_OPTION, *(r.id for r in world.consultation.pool)]
        assert [o.label for o in with_choice[1:]] == ["Anna", "Ben"]
        without = await world.provider.options("resource", world.selection(world.haircut))
        assert [o.id for o in without] == [ANY_OPTION]


async def test_slots_of_a_chosen_resource_are_that_resources_and_any_gives_one_per_time() -> None:
    async with bookingtime_world() as world:
        anna, ben = (r.id for r in world.consultation.pool)
        day = today(world) + timedelta(days=1)
        annas = await world.provider.slots(world.selection(world.consultation, anna), day)
        assert annas and {(s.resource_id, s.resource_name) for s in annas} == {(anna, "Anna")}
        # Anna takes the first hour: with "any", Ben still offers it.
        await world.provider.book(world.selection(world.consultation, anna), annas[0], CUSTOMER)
        anyone = await world.provider.slots(world.any_resource(world.consultation), day)
        starts = [s.start for s in anyone]
        assert len(starts) == len(set(starts))
        assert anyone[0].start == annas[0].start and anyone[0].resource_id == ben


async def test_catalog_is_read_once_within_its_ttl_and_again_after() -> None:
    async with bookingtime_world(catalog_ttl_seconds=600) as world:
        selection = world.selection(world.haircut)
        await world.provider.flow(selection)
        await world.provider.options("service", selection)
        await world.provider.options("resource", selection)
        await world.provider.customer_form(selection)
        assert len(world.fake.requests("bookingTemplate/list")) == 1
        world.fake.clock.advance(601)
        await world.provider.options("service", selection)
        assert len(world.fake.requests("bookingTemplate/list")) == 2


# -- customer form -----------------------------------------------------------------------------


async def test_customer_form_follows_the_template_flags_exactly() -> None:
    fake = FakeBookingtime()
    bare = next(t for t in fake.organization.templates.values() if not t.choice)
    async with bookingtime_world(fake) as world:
        haircut = await world.provider.customer_form(world.selection(world.haircut))
        assert haircut.required == {
            CustomerField.FIRST_NAME,
            CustomerField.LAST_NAME,
            CustomerField.EMAIL,
        }
        consultation = await world.provider.customer_form(world.selection(world.consultation))
        assert consultation.required == {
            CustomerField.FIRST_NAME,
            CustomerField.LAST_NAME,
            CustomerField.PHONE,
            CustomerField.ADDRESS,
        }
        assert consultation.optional == frozenset()
    bare.email_required = False
    async with bookingtime_world(fake) as world:
        names_only = await world.provider.customer_form(world.selection(bare))
        assert names_only.fields() == [CustomerField.FIRST_NAME, CustomerField.LAST_NAME]


# -- locale ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "locale", "label"),
    [
        ("de", "de", "Haarschnitt"),
        ("fr-CA", "fr", "Coupe"),
        ("en", "en", "Haircut"),
        ("ja", "en", "Haircut"),
        ("", "en", "Haircut"),
    ],
)
async def test_locale_segment_follows_the_users_language(
    language: str, locale: str, label: str
) -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut, language=language)
        options = await world.provider.options("service", selection)
        day = today(world) + timedelta(days=1)
        await world.provider.slots(selection, day)
        assert options[0].label == label
        assert {r.locale for r in world.fake.api_requests()} == {locale}


# -- availability ------------------------------------------------------------------------------


async def test_a_month_view_costs_one_listing_request_and_no_day_requests() -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        await world.provider.flow(selection)
        before = len(world.fake.api_requests())
        first = today(world).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        days = await world.provider.available_days(selection, first, last)
        calls = world.fake.api_requests()[before:]
        assert [c.path.rsplit("/", 1)[-1] for c in calls] == ["listMonth"]
        assert days and all(d.weekday() < 5 for d in days)


async def test_a_view_spanning_two_months_asks_both_months() -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        first = today(world)
        await world.provider.available_days(selection, first, first + timedelta(days=40))
        assert len(world.fake.requests("/listMonth")) == 2


async def test_days_stay_inside_booking_day_earliest_and_latest() -> None:
    async with bookingtime_world() as world:
        now = today(world)
        consultation = world.any_resource(world.consultation)  # earliest 1, latest 60
        days = await world.provider.available_days(consultation, now, now + timedelta(days=90))
        assert min(days) >= now + timedelta(days=1)
        assert max(days) <= now + timedelta(days=60)
        haircut = world.selection(world.haircut)  # earliest 0, latest 30
        days = await world.provider.available_days(haircut, now, now + timedelta(days=90))
        assert now in days and max(days) <= now + timedelta(days=30)
        requested = len(world.fake.api_requests())
        assert await world.provider.slots(haircut, now + timedelta(days=45)) == []
        assert len(world.fake.api_requests()) == requested, "outside the window: no request"


async def test_slots_respect_the_lead_time() -> None:
    async with bookingtime_world() as world:
        now = world.fake.clock()
        slots = await world.provider.slots(world.selection(world.haircut), today(world))
        assert slots and min(s.start for s in slots) >= now + timedelta(minutes=120)
        assert all(s.start.tzinfo is not None for s in slots)


async def test_slot_list_under_the_seeds_key_booking_slot_list_is_understood() -> None:
    async with bookingtime_world(FakeBookingtime(slot_list_key="bookingSlotList")) as world:
        selection = world.selection(world.haircut)
        day = today(world) + timedelta(days=1)
        slots = await world.provider.slots(selection, day)
        assert slots and all(isinstance(s.start, datetime) for s in slots)
        assert all(s.id.startswith("4f") and len(s.id) == 32 for s in slots)
