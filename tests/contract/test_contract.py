"""One contract, every adapter: the same cases run against each target in ``targets/``.

The cases are what the conversation engine relies on; an adapter that passes them can be driven
through a whole booking without the engine knowing which platform is behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from providers.base import (
    Booking,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    SlotTaken,
)
from tests.contract.harness import ContractTarget, discover_targets, walk_to_slots

TARGETS = discover_targets()


@pytest.fixture(params=sorted(TARGETS))
async def target(request: pytest.FixtureRequest) -> AsyncIterator[ContractTarget]:
    async with TARGETS[request.param]() as made:
        yield made


async def test_flow_ends_with_confirm_and_has_date_and_slot(target: ContractTarget) -> None:
    from providers.base import Selection

    steps = await target.provider.flow(Selection(user_key=target.user_key))
    kinds = [s.kind for s in steps]
    assert kinds[-1] == "confirm"
    assert kinds.index("date") < kinds.index("slot") < kinds.index("confirm")
    assert len({s.key for s in steps}) == len(steps), "step keys must be unique"


async def test_every_choose_step_asks_its_own_question(target: ContractTarget) -> None:
    from providers.base import Selection, UserText

    steps = await target.provider.flow(Selection(user_key=target.user_key))
    for step in steps:
        if step.kind == "choose":
            assert isinstance(step.prompt, UserText) and step.prompt, step.key


async def test_a_slot_names_the_resource_the_customer_chose(target: ContractTarget) -> None:
    """The booking summary names the resource from the slot alone, so a slot of a chosen
    resource must carry that option's label."""
    walk = await walk_to_slots(target)
    picked = [
        option
        for key, ids in walk.selection.choices.items()
        for option in await target.provider.options(key, walk.selection)
        if option.id in ids
    ]
    for slot in walk.slots:
        labels = {o.label for o in picked if o.id == slot.resource_id}
        if labels:
            assert slot.resource_name in labels


async def test_slots_are_future_aware_and_sorted(target: ContractTarget) -> None:
    walk = await walk_to_slots(target)
    assert walk.slots, "an available day must have slots"
    starts = [s.start for s in walk.slots]
    assert all(s.tzinfo is not None for s in starts)
    assert starts == sorted(starts)
    assert all(s.end > s.start for s in walk.slots)


async def test_booked_slot_disappears_and_cancel_frees_it(target: ContractTarget) -> None:
    walk = await walk_to_slots(target)
    slot = walk.slots[0]
    booking = await target.provider.book(
        walk.selection, slot, target.customer, answers=walk.answers
    )
    assert isinstance(booking, Booking) and booking.ref
    assert booking.start == slot.start
    after = await target.provider.slots(walk.selection, walk.day)
    assert slot.start not in {s.start for s in after if s.resource_id == slot.resource_id}

    await target.provider.cancel(booking.ref, walk.selection)
    freed = await target.provider.slots(walk.selection, walk.day)
    assert slot.start in {s.start for s in freed}


async def test_booking_a_taken_slot_raises_slot_taken(target: ContractTarget) -> None:
    walk = await walk_to_slots(target)
    slot = walk.slots[0]
    await target.provider.book(walk.selection, slot, target.customer, answers=walk.answers)
    with pytest.raises(SlotTaken):
        await target.provider.book(walk.selection, slot, target.customer, answers=walk.answers)


async def test_two_concurrent_bookings_of_one_slot_book_once(target: ContractTarget) -> None:
    walk = await walk_to_slots(target)
    slot = walk.slots[0]
    results = await asyncio.gather(
        *(
            target.provider.book(walk.selection, slot, target.customer, answers=walk.answers)
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, SlotTaken)]
    assert len(booked) == 1 and len(refused) == 1, results


async def test_cancelling_twice_raises_not_found(target: ContractTarget) -> None:
    walk = await walk_to_slots(target)
    booking = await target.provider.book(
        walk.selection, walk.slots[0], target.customer, answers=walk.answers
    )
    await target.provider.cancel(booking.ref, walk.selection)
    with pytest.raises(NotFound):
        await target.provider.cancel(booking.ref, walk.selection)


async def test_a_lookup_shows_a_booking_booked_then_gone_after_its_cancel(
    target: ContractTarget,
) -> None:
    """What the engine asks after a cancel answered "not found" before it says "cancelled"."""
    walk = await walk_to_slots(target)
    booking = await target.provider.book(
        walk.selection, walk.slots[0], target.customer, answers=walk.answers
    )
    provider, ref = target.provider, booking.ref
    looked = await provider.still_booked(ref, walk.selection, booking.customer_ref)
    if looked is None:
        pytest.skip(f"{target.name} offers no lookup of one booking")
    assert looked is True
    await provider.cancel(ref, walk.selection)
    assert await provider.still_booked(ref, walk.selection, booking.customer_ref) is False


async def test_invalid_customer_is_refused_with_the_field(target: ContractTarget) -> None:
    if target.invalid_customer is None:
        pytest.skip(f"{target.name} has no platform-side validation to exercise")
    walk = await walk_to_slots(target)
    with pytest.raises(InvalidCustomerData) as refused:
        await target.provider.book(
            walk.selection, walk.slots[0], target.invalid_customer, answers=walk.answers
        )
    assert refused.value.field


@pytest.mark.parametrize("mode", ["unavailable", "timeout"])
async def test_platform_failure_on_a_read_becomes_provider_unavailable(
    target: ContractTarget, mode: str
) -> None:
    if target.fail_next is None:
        pytest.skip(f"{target.name} has no remote platform that can fail")
    walk = await walk_to_slots(target)
    target.fail_next(mode, 10)
    with pytest.raises(ProviderUnavailable):
        await target.provider.slots(walk.selection, walk.day)


async def test_a_read_that_fails_once_is_retried(target: ContractTarget) -> None:
    if target.fail_next is None:
        pytest.skip(f"{target.name} has no remote platform that can fail")
    walk = await walk_to_slots(target)
    target.fail_next("unavailable", 1)
    slots = await target.provider.slots(walk.selection, walk.day)
    assert [s.start for s in slots] == [s.start for s in walk.slots]


async def test_booking_is_not_retried_after_a_failure(target: ContractTarget) -> None:
    if target.fail_next is None:
        pytest.skip(f"{target.name} has no remote platform that can fail")
    walk = await walk_to_slots(target)
    target.fail_next("unavailable", 1)
    with pytest.raises(ProviderError):
        await target.provider.book(
            walk.selection, walk.slots[0], target.customer, answers=walk.answers
        )
    # One failure was injected and the booking was not retried: the slot is still free.
    again = await target.provider.slots(walk.selection, walk.day)
    assert walk.slots[0].start in {s.start for s in again}


async def test_a_lookup_finds_the_booking_at_its_slot_and_none_elsewhere(
    target: ContractTarget,
) -> None:
    """What the engine asks to settle a Confirm whose answer was lost (``supports_lookup``):
    the booking made at a slot for a customer, and nothing at a slot not booked."""
    provider = target.provider
    if not provider.supports_lookup:
        pytest.skip(f"{target.name} offers no lookup of what it booked")
    walk = await walk_to_slots(target)
    if len(walk.slots) < 2:
        pytest.skip("needs two free slots on one day")
    customer = target.customer
    reference = provider.customer_reference(customer)
    if reference is not None:  # the engine keeps it with the booking, as here
        customer = replace(customer, provider_ref=reference)
    slot, other = walk.slots[0], walk.slots[1]
    booking = await provider.book(walk.selection, slot, customer, answers=walk.answers)
    found = await provider.find_booking(walk.selection, slot, customer)
    assert found is not None
    assert (found.ref, found.start) == (booking.ref, booking.start)
    assert await provider.find_booking(walk.selection, other, customer) is None
