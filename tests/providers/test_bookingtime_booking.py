"""Booking, moving and cancelling through the bookingtime adapter, and how the platform's
refusals and failures reach the engine."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from providers.base import (
    CustomerField,
    InvalidCustomerData,
    NotFound,
    ProviderUnavailable,
    Selection,
    Slot,
    SlotTaken,
)
from providers.http import RetryPolicy
from tests.fakes.bookingtime import FailureMode, FakeBookingtime
from tests.fakes.bookingtime.world import CUSTOMER, TIMEZONE, World, bookingtime_world


async def day_and_slots(world: World, selection: Selection) -> tuple[date, list[Slot]]:
    first = world.fake.clock().astimezone(TIMEZONE).date()
    days = await world.provider.available_days(selection, first, first + timedelta(days=20))
    day = min(days)
    return day, list(await world.provider.slots(selection, day))


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, CustomerField.EMAIL),
        ({"email": None}, CustomerField.EMAIL),
        ({"first_name": " "}, CustomerField.FIRST_NAME),
        ({"last_name": ""}, CustomerField.LAST_NAME),
    ],
)
async def test_field_refused_by_the_platform_is_invalid_customer_data_for_that_field(
    change: dict[str, Any], field: CustomerField
) -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        _, slots = await day_and_slots(world, selection)
        with pytest.raises(InvalidCustomerData) as refused:
            await world.provider.book(selection, slots[0], replace(CUSTOMER, **change))
        assert refused.value.field == field
        # The platform's own words reach the user.
        assert refused.value.message in {
            "This value is not a valid email address.",
            "This value should not be blank.",
        }
        assert world.fake.organization.appointments == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [({"phone": None}, CustomerField.PHONE), ({"address": None}, CustomerField.ADDRESS)],
)
async def test_template_requiring_mobile_and_address_refuses_them_missing(
    change: dict[str, Any], field: CustomerField
) -> None:
    async with bookingtime_world() as world:
        selection = world.any_resource(world.consultation)
        _, slots = await day_and_slots(world, selection)
        with pytest.raises(InvalidCustomerData) as refused:
            await world.provider.book(selection, slots[0], replace(CUSTOMER, **change))
        assert refused.value.field == field


async def test_booking_body_carries_the_slot_and_the_customer_as_documented() -> None:
    async with bookingtime_world() as world:
        selection = world.any_resource(world.consultation)
        _, slots = await day_and_slots(world, selection)
        booking = await world.provider.book(selection, slots[0], CUSTOMER)
        stored = world.fake.organization.appointments[booking.ref]
        assert booking.ref.startswith("ed") and len(booking.ref) == 32
        assert stored.customer["firstName"] == "Ada"
        assert stored.customer["mobile"] == CUSTOMER.phone
        assert stored.customer["address"]["street"] == "Unter den Linden 1"
        assert stored.customer["locale"] == "en"
        assert booking.service_name == "Consultation"
        assert booking.resource_name in {"Anna", "Ben"}
        assert booking.end - booking.start == timedelta(minutes=60)


# -- slot taken --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 409])
async def test_slot_taken_meanwhile_by_someone_else_is_slot_taken(status: int) -> None:
    fake = FakeBookingtime(slot_taken_status=status)
    async with bookingtime_world(fake) as world, bookingtime_world(fake) as other:
        selection = world.selection(world.haircut)
        day, slots = await day_and_slots(world, selection)
        await other.provider.book(selection, slots[0], CUSTOMER)  # the other customer wins

        with pytest.raises(SlotTaken) as taken:
            await world.provider.book(selection, slots[0], CUSTOMER)

        assert taken.value.message == "This booking slot is no longer available."
        assert [r.status for r in fake.requests("appointment/add")] == [201, status]
        fresh = await world.provider.slots(selection, day)
        assert slots[0].start not in {s.start for s in fresh}


# -- move and cancel ---------------------------------------------------------------------------


async def test_moving_an_appointment_frees_the_old_slot_and_takes_the_new_one() -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        day, slots = await day_and_slots(world, selection)
        old, new = slots[0], slots[-1]
        booking = await world.provider.book(selection, old, CUSTOMER)

        moved = await world.provider.reschedule(booking.ref, selection, new)

        assert moved.ref == booking.ref and moved.start == new.start
        after = {s.start for s in await world.provider.slots(selection, day)}
        assert old.start in after and new.start not in after
        assert world.fake.organization.appointments[booking.ref].moved
        assert len(world.fake.requests("/move")) == 1


async def test_moving_onto_a_taken_slot_is_slot_taken_and_keeps_the_appointment() -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        _, slots = await day_and_slots(world, selection)
        mine = await world.provider.book(selection, slots[0], CUSTOMER)
        await world.provider.book(selection, slots[1], CUSTOMER)
        with pytest.raises(SlotTaken):
            await world.provider.reschedule(mine.ref, selection, slots[1])
        assert world.fake.organization.appointments[mine.ref].start == slots[0].start


async def test_cancelling_an_unknown_or_cancelled_appointment_is_not_found() -> None:
    async with bookingtime_world() as world:
        selection = world.selection(world.haircut)
        with pytest.raises(NotFound):
            await world.provider.cancel("ed" + "x" * 30, selection)
        with pytest.raises(NotFound):
            await world.provider.cancel("../../oauth/token", selection)
        _, slots = await day_and_slots(world, selection)
        booking = await world.provider.book(selection, slots[0], CUSTOMER)
        await world.provider.cancel(booking.ref, selection)
        with pytest.raises(NotFound, match="already cancelled"):
            await world.provider.cancel(booking.ref, selection)


# -- failures and retries ----------------------------------------------------------------------


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_read_timeouts_are_retried_with_backoff() -> None:
    sleep = RecordedSleep()
    async with bookingtime_world(http_timeout=0.05, sleep=sleep) as world:
        selection = world.selection(world.haircut)
        day, slots = await day_and_slots(world, selection)
        world.fake.control.fail_next("timeout", 2, path_contains="/listDay")

        again = await world.provider.slots(selection, day)

        assert [s.start for s in again] == [s.start for s in slots]
        assert sleep.delays == [0.2, 0.4]
        assert len(world.fake.requests("/listDay")) == 1 + 3


async def test_reads_failing_every_time_end_as_provider_unavailable() -> None:
    sleep = RecordedSleep()
    async with bookingtime_world(sleep=sleep, retry=RetryPolicy(attempts=4)) as world:
        selection = world.selection(world.haircut)
        day, _ = await day_and_slots(world, selection)
        world.fake.control.fail_next("unavailable", 10, path_contains="/listDay")
        with pytest.raises(ProviderUnavailable):
            await world.provider.slots(selection, day)
        assert len(world.fake.requests("/listDay")) == 1 + 4


@pytest.mark.parametrize("mode", ["timeout", "unavailable", "server_error", "malformed"])
async def test_appointment_add_is_never_retried(mode: FailureMode) -> None:
    sleep = RecordedSleep()
    async with bookingtime_world(http_timeout=0.05, sleep=sleep) as world:
        selection = world.selection(world.haircut)
        day, slots = await day_and_slots(world, selection)
        world.fake.control.fail_next(mode, 5, path_contains="appointment/add")

        with pytest.raises(ProviderUnavailable):
            await world.provider.book(selection, slots[0], CUSTOMER)

        assert len(world.fake.requests("appointment/add")) == 1
        assert sleep.delays == []
        world.fake.control.clear()
        assert slots[0].start in {s.start for s in await world.provider.slots(selection, day)}


async def test_malformed_json_on_a_read_is_provider_unavailable() -> None:
    async with bookingtime_world() as world:
        world.fake.control.fail_next("malformed", 1, path_contains="bookingTemplate/list")
        with pytest.raises(ProviderUnavailable):
            await world.provider.flow(world.selection())
        # The failure was not cached: the next call loads the catalog.
        steps = await world.provider.flow(world.selection())
        assert steps[0].key == "service"


async def test_two_racing_bookings_of_one_resource_book_once() -> None:
    async with bookingtime_world() as world:
        anna = world.consultation.pool[0].id
        selection = world.selection(world.consultation, anna)
        _, slots = await day_and_slots(world, selection)
        world.fake.control.latency = 0.01
        results = await asyncio.gather(
            *(world.provider.book(selection, slots[0], CUSTOMER) for _ in range(3)),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert sum(isinstance(r, SlotTaken) for r in results) == 2
