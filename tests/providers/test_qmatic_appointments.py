"""Qmatic adapter: what happens to a confirmed appointment (cancel, customer update, search by
personal identifier, reschedule)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from providers.base import (
    Booking,
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    NotFound,
    Selection,
    SlotTaken,
)
from providers.qmatic import QmaticProvider
from tests.contract.targets.qmatic import CUSTOMER
from tests.fakes.qmatic import QmaticFake
from tests.providers import qmatic_setup
from tests.providers.qmatic_setup import ANSWERS, PASSPORT

IDCARD = Selection({"service": ("svc-idcard",), "branch": ("b-city",)})


# the shared fixtures: the fake, a provider on it
fake = qmatic_setup.fake
provider = qmatic_setup.provider


async def book_first(provider: QmaticProvider, fake: QmaticFake) -> Booking:
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    return await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS)


async def test_cancel_deletes_the_appointment_and_is_not_retried(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    await provider.cancel(booking.ref, PASSPORT)
    assert fake.active_appointments() == []
    assert fake.api_requests("DELETE")[-1].path == f"/external/v1/appointments/{booking.ref}"
    with pytest.raises(NotFound):
        await provider.cancel("no-such-appointment", PASSPORT)


async def test_update_customer_changes_the_details_on_the_platform(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    await provider.update_customer(
        booking.ref, replace(CUSTOMER, last_name="King", phone="+32471111111"), PASSPORT
    )
    customer = fake.appointments[booking.ref].customer
    assert customer["lastName"] == "King" and customer["phoneNumber"] == "+32471111111"
    assert customer["personalIdentifier"] == CUSTOMER.provider_ref


async def test_update_customer_of_a_cancelled_appointment_raises_not_found(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    await provider.cancel(booking.ref, PASSPORT)
    with pytest.raises(NotFound):
        await provider.update_customer(booking.ref, CUSTOMER, PASSPORT)


async def test_update_customer_refuses_an_empty_name_before_sending(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    with pytest.raises(InvalidCustomerData) as refused:
        await provider.update_customer(booking.ref, replace(CUSTOMER, first_name=" "), PASSPORT)
    assert refused.value.field == CustomerField.FIRST_NAME
    assert fake.api_requests("PUT", "/customer") == []


async def test_find_appointments_by_the_customers_kept_identifier(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    first = await book_first(provider, fake)
    second = await book_first(provider, fake)
    someone_else = replace(CUSTOMER, provider_ref="SOMEONEELSE123")
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    await provider.book(PASSPORT, slot, someone_else, answers=ANSWERS)

    found = await provider.find_appointments(CUSTOMER.provider_ref or "", PASSPORT)
    assert [b.ref for b in found] == [first.ref, second.ref]
    assert found[0].start == first.start and found[0].service_name == "Passport"
    sent = fake.api_requests("POST", "/appointments/search")[-1].json()
    assert sent == {"customer": {"personalIdentifier": CUSTOMER.provider_ref}}
    searches = len(fake.api_requests("POST", "/appointments/search"))
    assert await provider.find_appointments("short", PASSPORT) == []
    assert len(fake.api_requests("POST", "/appointments/search")) == searches


async def test_reschedule_moves_the_appointment_and_frees_the_old_slot(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    later = (await provider.slots(PASSPORT, fake.today()))[-1]
    moved = await provider.reschedule(booking.ref, PASSPORT, later)
    assert moved.ref == booking.ref and moved.start == later.start
    (appointment,) = fake.active_appointments()
    assert appointment.start == later.start
    assert fake.live_reservations() == []
    free = {s.start for s in await provider.slots(PASSPORT, fake.today())}
    assert booking.start in free and later.start not in free


async def test_reschedule_to_a_taken_slot_raises_slot_taken(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    first, second = (await provider.slots(PASSPORT, fake.today()))[:2]
    booking = await provider.book(PASSPORT, first, CUSTOMER, answers=ANSWERS)
    await provider.book(PASSPORT, second, CUSTOMER, answers=ANSWERS)
    with pytest.raises(SlotTaken):
        await provider.reschedule(booking.ref, PASSPORT, second)
    assert fake.appointments[booking.ref].start == first.start
    assert len(fake.active_appointments()) == 2


async def test_reschedule_cannot_change_the_service_and_releases_the_new_reservation(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    slot = (await provider.slots(IDCARD, fake.today()))[0]
    with pytest.raises(BookingRefused) as refused:
        await provider.reschedule(booking.ref, IDCARD, slot)
    assert refused.value.reason == "service_cannot_change"
    assert fake.live_reservations() == []
    assert fake.appointments[booking.ref].start == booking.start


async def test_reschedule_of_a_cancelled_appointment_raises_not_found(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    booking = await book_first(provider, fake)
    await provider.cancel(booking.ref, PASSPORT)
    slot = (await provider.slots(PASSPORT, fake.today()))[1]
    with pytest.raises(NotFound):
        await provider.reschedule(booking.ref, PASSPORT, slot)
    assert fake.live_reservations() == []
