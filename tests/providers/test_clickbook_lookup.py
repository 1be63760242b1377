"""ClickBook's ``find_booking``: what the engine asks to settle a Confirm whose answer was lost
(the booking intent, bot/engine/reconcile.py). A customer's own booking, a staff member's in the
client file's context (by our fiche's ClientFileID, or the client's email), nothing created to
look, and no answer made up when it cannot be asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from providers.base import (
    AuthFailed,
    CustomerDetails,
    ProviderUnavailable,
    Selection,
    Slot,
    SlotTaken,
)
from providers.clickbook import ClickbookProvider
from tests.fakes.clickbook import FakeClickbook, make_provider

EMAIL, PASSWORD = "anna@example.org", "lookup-customer-password"
STAFF_EMAIL, STAFF_PASSWORD = "maya@studio.example", "lookup-staff-password"
SELECTION = Selection({"location": ("L1",), "service": ("S1",)}, user_key="tg:7")
ANNA = CustomerDetails(first_name="Anna", last_name="Martin", phone="0612345678", email=EMAIL)
CHLOE = CustomerDetails(
    first_name="Chloé", last_name="Petit", phone="0655443322", email="chloe@example.org"
)
ZOE = CustomerDetails(first_name="Zoé", last_name="Roux", phone="0611223344", email="zoe@x.org")


@pytest.fixture
def fake() -> FakeClickbook:
    fake = FakeClickbook()
    fake.world.add_account(EMAIL, PASSWORD)
    fake.world.add_account(STAFF_EMAIL, STAFF_PASSWORD, user_type="Staff")
    return fake


@pytest.fixture
async def provider(fake: FakeClickbook, tmp_path: Path) -> AsyncIterator[ClickbookProvider]:
    provider = make_provider(fake, tmp_path)
    yield provider
    await provider.aclose()
    assert provider.deps.http is not None
    await provider.deps.http.aclose()


async def two_slots(provider: ClickbookProvider) -> tuple[Slot, Slot]:
    day = min(await provider.available_days(SELECTION, *_month(provider)))
    first, second, *_ = await provider.slots(SELECTION, day)
    return first, second


def _month(provider: ClickbookProvider) -> tuple[date, date]:
    today = provider.deps.clock().astimezone(provider.deps.timezone).date()
    return today + timedelta(days=1), today + timedelta(days=30)


async def test_a_customers_booking_is_found_at_its_slot_and_nothing_at_another(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    assert provider.supports_lookup
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot, other = await two_slots(provider)
    made = await provider.book(SELECTION, slot, ANNA)
    found = await provider.find_booking(SELECTION, slot, ANNA)
    assert found is not None
    assert (found.ref, found.start, found.end) == (made.ref, made.start, made.end)
    assert await provider.find_booking(SELECTION, other, ANNA) is None
    assert fake.count("BOOKTIMESLOT") == 1


async def test_staff_lookups_are_made_in_the_clients_file_and_create_nothing(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    await provider.sign_in(SELECTION, STAFF_EMAIL, STAFF_PASSWORD)
    slot, _ = await two_slots(provider)
    made = await provider.book(SELECTION, slot, CHLOE)  # creates Chloé's client file
    (file_id,) = fake.world.client_files
    assert made.customer_ref == file_id

    # By the client's email (the fiche had no ClientFileID yet), and by our fiche's.
    for chloe in (CHLOE, replace(CHLOE, provider_ref=file_id)):
        found = await provider.find_booking(SELECTION, slot, chloe)
        assert found is not None and (found.ref, found.customer_ref) == (made.ref, file_id)

    # Another client: without a client file nothing was booked for them, and none is created.
    assert await provider.find_booking(SELECTION, slot, ZOE) is None
    assert list(fake.world.client_files) == [file_id]
    assert fake.count("SETUSERFIELDS") == 1


async def test_another_clients_booking_of_the_slot_is_not_this_clients(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    await provider.sign_in(SELECTION, STAFF_EMAIL, STAFF_PASSWORD)
    slot, _ = await two_slots(provider)
    await provider.book(SELECTION, slot, CHLOE)
    zoe_file = await provider.book(SELECTION, (await two_slots(provider))[0], ZOE)
    assert zoe_file.customer_ref is not None
    zoe = replace(ZOE, provider_ref=zoe_file.customer_ref)
    assert await provider.find_booking(SELECTION, slot, zoe) is None


async def test_without_a_session_in_this_process_nothing_can_be_looked_up(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot, _ = await two_slots(provider)
    await provider.book(SELECTION, slot, ANNA)
    provider.client.forget(SELECTION.user_key)  # as a restart would
    with pytest.raises(AuthFailed):
        await provider.find_booking(SELECTION, slot, ANNA)
    assert fake.count("GETBOOKINGS") == 0


async def test_a_session_the_platform_ended_is_no_answer_either(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot, _ = await two_slots(provider)
    fake.world.expire_sessions()
    with pytest.raises(AuthFailed):
        await provider.find_booking(SELECTION, slot, ANNA)


async def test_an_unanswered_lookup_is_unavailable_so_the_engine_asks_again_later(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot, _ = await two_slots(provider)
    fake.control.fail_next("unavailable", 10, operation="GETBOOKINGS")
    with pytest.raises(ProviderUnavailable):
        await provider.find_booking(SELECTION, slot, ANNA)


async def test_book_keeps_no_memory_of_a_lost_answer_and_sends_each_request_once(
    provider: ClickbookProvider, fake: FakeClickbook
) -> None:
    """One way to settle a lost answer: the engine's intent looks it up (find_booking) before
    it calls ``book`` again; the adapter does not look up behind its back."""
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot, _ = await two_slots(provider)
    fake.control.fail_next("lost", 1, operation="BOOKTIMESLOT")
    with pytest.raises(ProviderUnavailable):
        await provider.book(SELECTION, slot, ANNA)
    with pytest.raises(SlotTaken):  # booked by the lost request: ClickBook's own answer
        await provider.book(SELECTION, slot, ANNA)
    assert fake.count("BOOKTIMESLOT") == 2 and fake.count("GETBOOKINGS") == 0
    assert len(fake.world.live_bookings()) == 1
