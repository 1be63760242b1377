"""ClicRDV never answers 401 for a protected resource: a lost customer session is noticed from
what the API does answer (the signed-in account read back), never from a status code.

The fake serves a request without a valid session as the public profile (empty lists, 404 for
ids), as the platform documents; each test here failed against an adapter that waited for 401.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from providers.base import AuthFailed
from providers.clicrdv import ClicrdvProvider
from tests.fakes.clicrdv import API_KEY, FakeClicrdv
from tests.providers import clicrdv_setup
from tests.providers.clicrdv_setup import CUSTOMER, EMAIL, PASSWORD, SELECTION, a_slot

# the shared fixtures: Ana's account on the fake, a provider on it
fake = clicrdv_setup.fake
provider = clicrdv_setup.provider


async def test_the_fake_answers_a_request_without_a_session_without_401(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    fake.sessions.clear()
    http = provider.deps.http
    assert http is not None
    answer = await http.get(
        "https://sandbox.clicrdv.test/api/v1/groups/4/fiches.json",
        params={"apikey": API_KEY},
    )
    assert answer.status_code == 200 and answer.json()["records"] == []


async def test_a_session_the_platform_dropped_is_noticed_before_booking(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    fake.sessions.clear()  # the platform forgot it; we still hold the cookie
    with pytest.raises(AuthFailed) as ended:
        await provider.book(SELECTION, slot, CUSTOMER)
    assert ended.value.message is not None and "sign in again" in ended.value.message
    assert fake.count("/appointments.json", "POST") == 0
    assert not fake.live_appointments()
    # Signing in again books the same slot: nothing the user chose was lost.
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    assert (await provider.book(SELECTION, slot, CUSTOMER)).ref


async def test_an_expired_session_is_noticed_before_booking(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    fake.control.advance(timedelta(hours=1))
    with pytest.raises(AuthFailed):
        await provider.book(SELECTION, slot, CUSTOMER)
    assert fake.count("/appointments.json", "POST") == 0


async def test_an_empty_appointment_list_without_a_session_is_not_taken_for_no_appointments(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    await provider.book(SELECTION, await a_slot(provider, fake), CUSTOMER)
    fake.sessions.clear()
    with pytest.raises(AuthFailed):
        await provider.appointments(SELECTION)
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    fake.sessions.clear()
    with pytest.raises(AuthFailed):
        await provider.fiches(SELECTION)
    assert await provider.fiches(SELECTION) == (), "the ended session was forgotten"


async def test_cancel_without_a_live_session_asks_to_sign_in_and_keeps_the_appointment(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    booking = await provider.book(SELECTION, await a_slot(provider, fake), CUSTOMER)
    fake.sessions.clear()
    with pytest.raises(AuthFailed):
        await provider.cancel(booking.ref, SELECTION)
    assert [a.id for a in fake.live_appointments()] == [int(booking.ref)]
    assert fake.count("/appointments/", "DELETE") == 0


async def test_a_live_session_is_read_back_once_per_write_and_reads_stay_concurrent(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    await provider.book(SELECTION, await a_slot(provider, fake), CUSTOMER)
    assert fake.count("/api/v1/accounts/") == 1
    assert len(await provider.appointments(SELECTION)) == 1
    assert fake.count("/api/v1/accounts/") == 2
