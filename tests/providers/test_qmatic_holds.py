"""Qmatic adapter: holds (15-minute reservations), confirmation, expiry, screening and the
customer checks made before anything is sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from providers.base import (
    BookingRefused,
    Slot,
    SlotTaken,
)
from providers.qmatic import QmaticProvider
from tests.contract.targets.qmatic import CUSTOMER, make_provider
from tests.fakes.qmatic import QmaticFake
from tests.providers import qmatic_setup
from tests.providers.qmatic_setup import ANSWERS, PASSPORT

# the shared fixtures: the fake, a provider on it
fake = qmatic_setup.fake
provider = qmatic_setup.provider


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
    assert booking.customer_ref == CUSTOMER.provider_ref
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
    assert sent["personalIdentifier"] == CUSTOMER.provider_ref
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
    "kept", [None, "", "SHORT123", "has spaces 12345", "dash-is-not-ok-123", "x" * 49]
)
async def test_a_kept_identifier_the_platform_would_refuse_is_replaced_by_a_new_one(
    fake: QmaticFake, provider: QmaticProvider, kept: str | None
) -> None:
    from dataclasses import replace

    slot = await first_slot(provider, fake)
    booking = await provider.book(
        PASSPORT, slot, replace(CUSTOMER, provider_ref=kept), answers=ANSWERS
    )
    sent = fake.api_requests("PUT")[-1].json()["personalIdentifier"]
    assert sent != kept and len(sent) == 32 and booking.customer_ref == sent


@pytest.mark.parametrize("kept", ["A" * 10, "Z9" * 24])
async def test_a_kept_identifier_within_the_documented_limits_is_reused(
    fake: QmaticFake, provider: QmaticProvider, kept: str
) -> None:
    from dataclasses import replace

    slot = await first_slot(provider, fake)
    booking = await provider.book(
        PASSPORT, slot, replace(CUSTOMER, provider_ref=kept), answers=ANSWERS
    )
    assert booking.customer_ref == kept
