"""bookingtime as the vendor's SDK shows it, not as we first read it: errors mapped by status
first, PHP-style slot offsets, an unset booking window, one list of locales, the add body the
SDK sends and refusals naming a detail we do not collect."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from providers.base import (
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    Selection,
    Slot,
    SlotTaken,
)
from tests.fakes.bookingtime import FakeBookingtime
from tests.fakes.bookingtime.state import DEFAULT_HORIZON_DAYS
from tests.fakes.bookingtime.world import CUSTOMER, TIMEZONE, World, bookingtime_world


def today(world: World) -> date:
    return world.fake.clock().astimezone(TIMEZONE).date()


async def first_slots(world: World, selection: Selection) -> list[Slot]:
    first = today(world)
    days = await world.provider.available_days(selection, first, first + timedelta(days=20))
    return list(await world.provider.slots(selection, min(days)))


# -- item 4: errors by HTTP status first, then the message --------------------------------------


@pytest.mark.parametrize(
    ("status", "text", "parameter", "type_", "expected"),
    [
        # A failure type spelled otherwise still names the field.
        (400, "This value should not be blank.", "lastName", "error", InvalidCustomerData),
        # A validation failure without a parameter is no "slot taken".
        (400, "The customer could not be validated.", None, "failure", BookingRefused),
        (422, "Unprocessable.", None, "ERROR", BookingRefused),
        # Only 409, or a refusal naming the slot, means the slot went.
        (409, "Conflict.", None, "failure", SlotTaken),
        (400, "Slot gone.", "bookingSlotId", "Failure", SlotTaken),
        (404, "Not found.", None, "failure", NotFound),
    ],
)
async def test_a_refusal_is_mapped_by_status_first_then_by_its_message(
    status: int, text: str, parameter: str | None, type_: str, expected: type[ProviderError]
) -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        slots = await first_slots(world, selection)
        world.fake.control.refuse_next_add(status, text, parameter, type_=type_)
        with pytest.raises(ProviderError) as refused:
            await world.provider.book(selection, slots[0], CUSTOMER)
        assert type(refused.value) is expected
        if expected is InvalidCustomerData:
            assert isinstance(refused.value, InvalidCustomerData)
            assert refused.value.field == CustomerField.LAST_NAME


async def test_an_html_400_is_a_clear_generic_refusal_with_the_diagnostic_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        slots = await first_slots(world, selection)
        world.fake.control.fail_next("html_bad_request", path_contains="appointment/add")
        with caplog.at_level(logging.WARNING, logger="providers.bookingtime"):
            with pytest.raises(BookingRefused) as refused:
                await world.provider.book(selection, slots[0], CUSTOMER)
        assert refused.value.reason == "unrecognised"
        assert refused.value.message is not None  # a sentence of ours, shown to the user
        assert "400" in caplog.text and "text/html" in caplog.text


# -- item 5: one malformed slot is skipped; PHP offsets are read ---------------------------------


async def test_php_style_offsets_are_parsed() -> None:
    async with bookingtime_world(FakeBookingtime(php_offsets=True)) as world:
        slots = await first_slots(world, world.selection(world.haircut))
        assert slots and all(s.start.utcoffset() == timedelta(hours=1) for s in slots)
        assert world.fake.timestamp(slots[0].start).endswith("+1:00")


async def test_one_malformed_slot_is_skipped_and_logged_not_the_whole_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeBookingtime()
    async with bookingtime_world(fake) as world:
        selection = world.selection(world.haircut)
        good = await first_slots(world, selection)
        fake.extra_slot_items.append(
            {"class": "BOOKING_SLOT", "id": "4f" + "x" * 30, "timestamp": "tomorrow at ten"}
        )
        with caplog.at_level(logging.WARNING, logger="providers.bookingtime"):
            again = await world.provider.slots(selection, good[0].start.date())
        assert [s.id for s in again] == [s.id for s in good]
        assert "skipped a slot" in caplog.text


# -- item 6: an unset window (0/0) is the platform's default horizon -----------------------------


async def test_an_unset_booking_window_is_the_platform_default_horizon_not_today_only() -> None:
    fake = FakeBookingtime()
    world_template = next(t for t in fake.organization.templates.values() if not t.choice)
    world_template.day_earliest = world_template.day_latest = 0
    async with bookingtime_world(fake) as world:
        now = today(world)
        selection = world.selection(world.haircut)
        days = await world.provider.available_days(selection, now, now + timedelta(days=90))
        assert max(days) > now + timedelta(days=60)
        later = now + timedelta(days=DEFAULT_HORIZON_DAYS - 7)
        while later.weekday() >= 5:
            later += timedelta(days=1)
        assert await world.provider.slots(selection, later)


async def test_a_set_booking_window_still_bounds_the_days() -> None:
    fake = FakeBookingtime()
    template = next(t for t in fake.organization.templates.values() if not t.choice)
    template.day_earliest, template.day_latest = 0, 1
    async with bookingtime_world(fake) as world:
        now = today(world)
        days = await world.provider.available_days(
            world.selection(world.haircut), now, now + timedelta(days=30)
        )
        assert days and max(days) <= now + timedelta(days=1)


# -- item 7: one list of locales, English for anything else --------------------------------------


@pytest.mark.parametrize("language", ["pl", "cs", "da", "sv", "pt-BR"])
async def test_a_language_the_platform_may_not_know_books_in_english(language: str) -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut, language=language)
        slots = await first_slots(world, selection)
        booking = await world.provider.book(selection, slots[0], CUSTOMER)
        assert booking.ref
        assert {r.locale for r in world.fake.api_requests()} == {"en"}


# -- item 8: the add body as the SDK sends it; refusals naming a detail we do not collect -------


async def test_the_add_body_is_shaped_as_the_vendor_sdk_sends_it() -> None:
    async with bookingtime_world() as world:
        selection = world.any_resource(world.consultation)
        slots = await first_slots(world, selection)
        await world.provider.book(selection, slots[0], CUSTOMER)
        (body,) = world.fake.add_bodies
        assert body["sendAppointmentAddEventEmail"] is True
        assert isinstance(body["sendAppointmentStartEventEmail"], bool)
        assert isinstance(body["sendAppointmentEndEventEmail"], bool)
        address = body["customer"]["address"]
        assert "class" not in address
        assert address == {"street": "Unter den Linden 1", "zip": "10117", "city": "Berlin"}
        assert "gender" not in body["customer"], "never invented when the customer did not say"


async def test_the_confirmation_email_flags_come_from_the_settings() -> None:
    async with bookingtime_world(send_appointment_add_event_email=False) as world:
        selection = world.selection(world.haircut)
        await world.provider.book(selection, (await first_slots(world, selection))[0], CUSTOMER)
        (body,) = world.fake.add_bodies
        assert body["sendAppointmentAddEventEmail"] is False


async def test_a_refusal_naming_a_collectable_detail_the_form_did_not_ask_adds_it_to_the_form() -> (
    None
):
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        assert (
            CustomerField.BIRTH_DATE not in (await world.provider.customer_form(selection)).fields()
        )
        slots = await first_slots(world, selection)
        world.fake.control.refuse_next_add(
            400, "This value should not be blank.", "customer.birthday"
        )
        with pytest.raises(InvalidCustomerData) as refused:
            await world.provider.book(selection, slots[0], CUSTOMER)
        assert refused.value.field == CustomerField.BIRTH_DATE
        form = await world.provider.customer_form(selection)
        assert CustomerField.BIRTH_DATE in form.required
        booked = await world.provider.book(
            selection, slots[0], replace(CUSTOMER, birth_date=date(1990, 5, 17))
        )
        assert world.fake.add_bodies[-1]["customer"]["birthday"] == "1990-05-17"
        assert booked.ref


async def test_a_refusal_naming_a_detail_we_cannot_collect_says_what_is_missing() -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        slots = await first_slots(world, selection)
        world.fake.control.refuse_next_add(
            400, "This value should not be blank.", "customer.gender"
        )
        with pytest.raises(BookingRefused) as refused:
            await world.provider.book(selection, slots[0], CUSTOMER)
        assert refused.value.reason == "missing_detail"
        assert refused.value.message is not None and "gender" in refused.value.message


async def test_the_fakes_default_slot_list_is_the_sdks_range_list() -> None:
    fake = FakeBookingtime()
    assert fake.slot_list_key == "list"
    async with bookingtime_world(fake) as world:
        assert isinstance(
            (await first_slots(world, world.selection(world.haircut)))[0].start, datetime
        )
