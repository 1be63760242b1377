"""Qmatic as its public material describes it, not as we first read it: the external customer
identifier is ours (a GUID kept in the fiche, never typed), a 201 may come with no body, times
may be naive in the branch's zone, and errors may come Orchestra-style."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from providers.base import (
    BookingRefused,
    CustomerField,
    NotFound,
    ProviderUnavailable,
    Selection,
    SlotTaken,
)
from providers.qmatic import QmaticProvider
from tests.contract.targets.qmatic import CUSTOMER, make_provider
from tests.fakes.qmatic import QmaticFake
from tests.providers.qmatic_setup import ANSWERS, PASSPORT

PARKING = Selection({"service": ("svc-parking",), "branch": ("b-north",)})
GUID = re.compile(r"[0-9a-f]{32}")
NEW_PERSON = replace(CUSTOMER, personal_id=None, provider_ref=None)


def confirmations(fake: QmaticFake) -> list[dict[str, object]]:
    return [r.json() for r in fake.api_requests("PUT", "/reservations/")]


async def book(provider: QmaticProvider, fake: QmaticFake, customer=NEW_PERSON, slot_index=0):  # type: ignore[no-untyped-def]
    slot = (await provider.slots(PASSPORT, fake.today()))[slot_index]
    return await provider.book(PASSPORT, slot, customer, answers=ANSWERS)


# -- item 9: the external customer identifier is ours ---------------------------------------------


async def test_the_customer_is_never_asked_for_an_identifier() -> None:
    fake = QmaticFake()
    provider = make_provider(fake)
    form = await provider.customer_form(PASSPORT)
    assert CustomerField.PERSONAL_ID not in form.fields()


async def test_a_new_person_gets_a_generated_identifier_returned_to_be_kept_in_the_fiche() -> None:
    fake = QmaticFake()
    provider = make_provider(fake)
    booking = await book(provider, fake)
    (sent,) = confirmations(fake)
    assert GUID.fullmatch(str(sent["personalIdentifier"]))
    assert booking.customer_ref == sent["personalIdentifier"]


async def test_an_identifier_typed_by_a_user_is_never_sent_nor_searched() -> None:
    fake = QmaticFake()
    provider = make_provider(fake)
    victim = await book(provider, fake)
    typed = replace(NEW_PERSON, personal_id=victim.customer_ref)  # someone else's, typed
    mine = await book(provider, fake, typed, slot_index=1)
    assert mine.customer_ref != victim.customer_ref
    assert confirmations(fake)[-1]["personalIdentifier"] == mine.customer_ref


async def test_the_fiches_identifier_is_reused_so_its_appointments_are_found_together() -> None:
    fake = QmaticFake()
    provider = make_provider(fake)
    first = await book(provider, fake)
    again = replace(NEW_PERSON, provider_ref=first.customer_ref)
    second = await book(provider, fake, again, slot_index=1)
    assert second.customer_ref == first.customer_ref
    found = await provider.find_appointments(first.customer_ref or "", PASSPORT)
    assert {b.ref for b in found} == {first.ref, second.ref}


async def test_an_older_fiche_keeps_the_identifier_it_was_booked_with() -> None:
    fake = QmaticFake()
    provider = make_provider(fake)
    old = replace(NEW_PERSON, personal_id="ADA1815LOVELACE", provider_ref="ADA1815LOVELACE")
    booking = await book(provider, fake, old)
    assert confirmations(fake)[-1]["personalIdentifier"] == "ADA1815LOVELACE"
    assert booking.customer_ref == "ADA1815LOVELACE"


# -- item 10: a 201 with no body ------------------------------------------------------------------


@pytest.mark.parametrize("confirmation", ["location", "empty"])
async def test_a_booking_confirmed_with_an_empty_201_is_a_booking(confirmation: str) -> None:
    fake = QmaticFake(reservation_replies="location", confirmation_replies=confirmation)
    provider = make_provider(fake)
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    hold = await provider.hold(PASSPORT, slot)
    assert hold.id in fake.reservations
    booking = await provider.book(PASSPORT, slot, NEW_PERSON, answers=ANSWERS, hold=hold)
    (appointment,) = fake.active_appointments()
    assert booking.ref == appointment.id and booking.start == slot.start


async def test_a_reservation_answered_with_nothing_at_all_fails_clearly_and_books_nothing() -> None:
    fake = QmaticFake(reservation_replies="empty")
    provider = make_provider(fake)
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    with pytest.raises(ProviderUnavailable):
        await provider.hold(PASSPORT, slot)
    assert not fake.active_appointments()


# -- item 11: the branch's zone, Orchestra-style errors --------------------------------------------


async def test_naive_times_are_read_in_the_branchs_zone_when_it_names_one() -> None:
    fake = QmaticFake(naive_times=True, branch_zones={"b-north": "Europe/London"})
    provider = make_provider(fake)
    day = fake.today()
    while day.weekday() >= 5 or not await provider.slots(PARKING, day):
        day += timedelta(days=1)
    slots = await provider.slots(PARKING, day)
    london = ZoneInfo("Europe/London")
    assert slots[0].start.astimezone(london).hour == 9  # opens at 09:00 London time
    booking = await provider.book(PARKING, slots[0], NEW_PERSON)
    (appointment,) = fake.active_appointments()
    assert appointment.start == slots[0].start == booking.start
    (found,) = await provider.find_appointments(booking.customer_ref or "", PARKING)
    assert found.start == booking.start  # the search's naive times too


async def test_orchestra_style_errors_are_read_from_headers_and_msg_bodies() -> None:
    fake = QmaticFake(error_style="orchestra")
    provider = make_provider(fake)
    other = make_provider(fake)
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    await other.book(PASSPORT, slot, NEW_PERSON, answers=ANSWERS)
    with pytest.raises(SlotTaken) as taken:
        await provider.book(PASSPORT, slot, NEW_PERSON, answers=ANSWERS)
    assert taken.value.message == "The timeslot is not available"
    with pytest.raises(NotFound) as gone:
        await provider.cancel("no-such-appointment", PASSPORT)
    assert gone.value.message == "Appointment not found"


async def test_an_orchestra_style_validation_error_keeps_its_text() -> None:
    fake = QmaticFake(error_style="orchestra")
    provider = make_provider(fake)
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    fake.services["svc-passport"].information = (
        {"required": True, "questionText": "Unknown to us", "clarificationText": ""},
    )
    with pytest.raises(BookingRefused) as refused:
        await provider.book(PASSPORT, slot, NEW_PERSON, answers=ANSWERS)
    assert refused.value.reason == "validation.invalidField"
    assert refused.value.message == "Answer required"


def test_a_refused_identifier_is_a_plain_refusal_never_a_question_to_the_customer() -> None:
    from providers.qmatic.errors import Operation, raise_for

    body = {
        "errorCode": "validation.invalidField",
        "message": "Bad id",
        "field": "personalIdentifier",
    }
    with pytest.raises(BookingRefused) as refused:
        raise_for(400, body, Operation.CONFIRM)
    assert refused.value.reason == "validation.invalidField"
