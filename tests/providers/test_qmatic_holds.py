"""Qmatic adapter: holds (15-minute reservations), confirmation, expiry, screening and the
customer checks made before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from providers.base import (
    ANY_OPTION,
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    Selection,
    Slot,
    SlotTaken,
)
from providers.qmatic import QmaticProvider
from tests.contract.targets.qmatic import CUSTOMER, make_provider
from tests.fakes.qmatic import QmaticFake

PASSPORT = Selection(
    {
        "service_group": ("g-docs",),
        "service": ("svc-passport",),
        "branch": ("b-city",),
        "resource": (ANY_OPTION,),
        "party_size": ("1",),
    }
)
ANSWERS = {"screening:0": "yes", "information:0": "Mine expired"}


@pytest.fixture
def fake() -> QmaticFake:
    return QmaticFake()


@pytest.fixture
async def provider(fake: QmaticFake) -> AsyncIterator[QmaticProvider]:
    made = make_provider(fake)
    yield made
    assert made.deps.http is not None
    await made.deps.http.aclose()


@pytest.fixture
def other(fake: QmaticFake) -> QmaticProvider:
    """A second client of the same tenant (another bot worker, or the business's website)."""
    return make_provider(fake)


async def first_slot(provider: QmaticProvider, fake: QmaticFake) -> Slot:
    return (await provider.slots(PASSPORT, fake.today()))[0]


async def starts(provider: QmaticProvider, fake: QmaticFake) -> set[datetime]:
    return {s.start for s in await provider.slots(PASSPORT, fake.today())}


async def test_hold_blocks_the_slot_for_others(
    fake: QmaticFake, provider: QmaticProvider, other: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    assert hold.expires_at == fake.clock() + timedelta(minutes=15)
    assert hold.slot == slot
    assert slot.start not in await starts(other, fake)
    with pytest.raises(SlotTaken):
        await other.hold(PASSPORT, slot)
    with pytest.raises(SlotTaken):
        await other.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS)
    assert len(fake.live_reservations()) == 1


async def test_release_frees_the_slot_and_leaves_no_reservation(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    await provider.release(hold)
    assert fake.live_reservations() == []
    assert slot.start in await starts(provider, fake)
    assert fake.api_requests("DELETE", "/reservations/")[-1].path.endswith(hold.id)


async def test_releasing_an_expired_or_unknown_hold_is_not_an_error(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    hold = await provider.hold(PASSPORT, await first_slot(provider, fake))
    await provider.release(hold)
    await provider.release(hold)  # already released
    expiring = await provider.hold(PASSPORT, await first_slot(provider, fake))
    fake.clock.advance(minutes=16)
    await provider.release(expiring)  # expired meanwhile
    assert fake.live_reservations() == []


async def test_held_slot_is_confirmed_with_the_hold(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    booking = await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS, hold=hold)
    assert booking.start == slot.start and booking.service_name == "Passport"
    assert booking.customer_ref == CUSTOMER.personal_id
    (appointment,) = fake.active_appointments()
    assert appointment.id == booking.ref
    assert fake.live_reservations() == []
    # One confirmation of the held reservation, no new reservation.
    assert len(fake.api_requests("POST", "/reservations")) == 1
    assert [r.path for r in fake.api_requests("PUT")] == [f"/external/v1/reservations/{hold.id}"]


async def test_hold_expires_after_fifteen_minutes_and_frees_the_slot(
    fake: QmaticFake, provider: QmaticProvider, other: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    await provider.hold(PASSPORT, slot)
    fake.clock.advance(minutes=14)
    assert slot.start not in await starts(other, fake)
    fake.clock.advance(minutes=2)
    assert slot.start in await starts(other, fake)
    assert fake.live_reservations() == []


async def test_confirm_after_expiry_reserves_the_slot_again_when_still_free(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    fake.clock.advance(minutes=16)
    booking = await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS, hold=hold)
    assert booking.start == slot.start
    assert len(fake.active_appointments()) == 1
    assert fake.live_reservations() == []
    assert [r.method for r in fake.api_requests() if "/reservations" in r.path][-3:] == [
        "PUT",  # refused: expired
        "POST",  # the same slot again
        "PUT",  # confirmed
    ]


async def test_confirm_after_expiry_raises_slot_taken_when_someone_took_it(
    fake: QmaticFake, provider: QmaticProvider, other: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    fake.clock.advance(minutes=16)
    theirs = await other.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS)
    with pytest.raises(SlotTaken):
        await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS, hold=hold)
    assert [a.id for a in fake.active_appointments()] == [theirs.ref]  # never double booked
    assert fake.live_reservations() == []


async def test_confirming_a_hold_twice_never_books_twice(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS, hold=hold)
    with pytest.raises(SlotTaken):
        await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS, hold=hold)
    assert len(fake.active_appointments()) == 1


async def test_screening_answer_no_to_a_yes_required_question_refuses_and_releases(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    with pytest.raises(BookingRefused) as refused:
        await provider.book(
            PASSPORT, slot, CUSTOMER, answers={**ANSWERS, "screening:0": "no"}, hold=hold
        )
    assert refused.value.reason == "screening_denied"
    assert refused.value.message == "Please bring your old passport and book again."
    assert fake.live_reservations() == []
    assert fake.api_requests("PUT") == []  # nothing confirmed
    assert fake.active_appointments() == []


async def test_answers_travel_to_the_platform_and_screening_stays_local(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS)
    sent = fake.api_requests("PUT")[-1].json()
    assert sent["informationQuestions"] == [
        {"questionText": "Why do you need a new passport?", "answer": "Mine expired"}
    ]
    assert sent["personalIdentifier"] == CUSTOMER.personal_id
    assert sent["firstName"] == "Ada" and sent["email"] == "ada@example.org"
    assert sent["phoneNumber"] == "+32470000000"
    assert fake.active_appointments()[0].answers == sent["informationQuestions"]


async def test_a_required_information_question_left_blank_is_refused_before_reserving(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slot = await first_slot(provider, fake)
    with pytest.raises(BookingRefused) as refused:
        await provider.book(PASSPORT, slot, CUSTOMER, answers={"screening:0": "yes"})
    assert refused.value.reason == "question_unanswered"
    assert fake.api_requests("POST") == []


@pytest.mark.parametrize(
    "personal_id",
    [None, "", "SHORT123", "has spaces 12345", "dash-is-not-ok-123", "x" * 49],
)
async def test_personal_identifier_is_validated_before_anything_is_sent(
    fake: QmaticFake, provider: QmaticProvider, personal_id: str | None
) -> None:
    from dataclasses import replace

    slot = await first_slot(provider, fake)
    hold = await provider.hold(PASSPORT, slot)
    sent_before = len(fake.api_requests())
    with pytest.raises(InvalidCustomerData) as refused:
        await provider.book(
            PASSPORT, slot, replace(CUSTOMER, personal_id=personal_id), answers=ANSWERS, hold=hold
        )
    assert refused.value.field == CustomerField.PERSONAL_ID
    assert len(fake.api_requests()) == sent_before
    # The hold is kept so the user can correct the field and confirm.
    assert [r.id for r in fake.live_reservations()] == [hold.id]


@pytest.mark.parametrize("personal_id", ["A" * 10, "Z9" * 24])
async def test_personal_identifier_limits_are_accepted(
    fake: QmaticFake, provider: QmaticProvider, personal_id: str
) -> None:
    from dataclasses import replace

    slot = await first_slot(provider, fake)
    booking = await provider.book(
        PASSPORT, slot, replace(CUSTOMER, personal_id=personal_id), answers=ANSWERS
    )
    assert booking.customer_ref == personal_id


async def test_platform_refusal_of_a_field_maps_to_it_and_releases_own_reservation() -> None:
    fake = QmaticFake(birth_date_required=True)  # but the business forgot to say so
    provider = make_provider(fake)
    slot = await first_slot(provider, fake)
    with pytest.raises(InvalidCustomerData) as refused:
        await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS)
    assert refused.value.field == CustomerField.BIRTH_DATE
    assert refused.value.message == "Date of birth is required"
    assert fake.live_reservations() == []  # the reservation made for this booking went back


async def test_birth_date_is_sent_when_the_business_requires_it() -> None:
    from dataclasses import replace
    from datetime import date

    fake = QmaticFake(birth_date_required=True)
    provider = make_provider(fake, birth_date_required=True)
    slot = await first_slot(provider, fake)
    with pytest.raises(InvalidCustomerData) as refused:
        await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS)
    assert refused.value.field == CustomerField.BIRTH_DATE
    assert fake.api_requests("POST") == []  # refused before reserving
    customer = replace(CUSTOMER, birth_date=date(1990, 12, 10))
    await provider.book(PASSPORT, slot, customer, answers=ANSWERS)
    assert fake.api_requests("PUT")[-1].json()["dateOfBirth"] == "1990-12-10"


async def test_party_size_reservation_blocks_the_whole_span(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    three = Selection({**PASSPORT.choices, "party_size": ("3",)})
    slot = (await provider.slots(three, fake.today()))[0]
    assert slot.end - slot.start == timedelta(minutes=90)
    await provider.book(three, slot, CUSTOMER, answers=ANSWERS)
    assert fake.api_requests("POST", "/reservations")[-1].json()["numberOfReservations"] == 3
    remaining = await starts(provider, fake)
    assert all(not slot.start <= s < slot.end for s in remaining)
