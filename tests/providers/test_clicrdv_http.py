"""Round trips, retries and misbehaving platforms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from providers.base import ProviderError, ProviderUnavailable, Selection
from providers.clicrdv import ClicrdvProvider
from tests.fakes.clicrdv import (
    ACCOUNT_READ_BACK,
    API_KEY,
    FakeClicrdv,
)
from tests.providers import clicrdv_setup
from tests.providers.clicrdv_setup import CUSTOMER, EMAIL, PASSWORD, SELECTION, fake_with_ana

provider = clicrdv_setup.provider  # the shared fixture, on this module's grouped fake


@pytest.fixture
def fake() -> FakeClicrdv:
    return fake_with_ana(grouped=True)


@pytest.mark.parametrize("days", [7, 31, 45])
async def test_availability_of_a_range_is_one_request(
    provider: ClicrdvProvider, fake: FakeClicrdv, days: int
) -> None:
    await provider.options("service", SELECTION)  # warm the catalog
    today = fake.now().date()
    found = await provider.available_days(SELECTION, today, today + timedelta(days=days - 1))
    assert found
    assert fake.count("/availabletimeslots.json") == 1
    (request,) = [r for r in fake.requests if r.path.endswith("/availabletimeslots.json")]
    assert request.query["intervention_ids[]"] == ["21"]
    assert request.query["calendar_id"] == ["15"]
    assert request.query["start"] == [f"{today} 00:00:00"]
    assert request.query["end"] == [f"{today + timedelta(days=days - 1)} 23:59:59"]


async def test_any_calendar_asks_availability_with_an_empty_calendar_id(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    any_calendar = Selection(choices={"service": ("21",), "calendar": ("*",)}, user_key="u")
    today = fake.now().date()
    await provider.available_days(any_calendar, today, today + timedelta(days=6))
    (request,) = [r for r in fake.requests if r.path.endswith("/availabletimeslots.json")]
    assert request.query["calendar_id"] == [""]


async def test_a_days_slots_are_one_request_and_stay_within_the_day(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.options("service", SELECTION)  # warm the catalog, as the flow does
    await provider.options("calendar", SELECTION)
    today = fake.now().date()
    day = min(await provider.available_days(SELECTION, today, today + timedelta(days=10)))
    before = len(fake.requests)
    slots = await provider.slots(SELECTION, day)
    assert len(fake.requests) - before == 1
    assert slots and all(s.start.date() == day for s in slots)
    assert all(s.start.tzinfo is not None and s.resource_name == "Alice" for s in slots)


async def test_every_request_carries_the_api_key_as_a_query_parameter(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.flow(SELECTION)
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    await provider.fiches(SELECTION)
    assert fake.requests
    assert all(r.query.get("apikey") == [API_KEY] for r in fake.requests)


async def test_reads_are_retried_on_5xx(provider: ClicrdvProvider, fake: FakeClicrdv) -> None:
    fake.control.fail_next("unavailable", 2)
    steps = await provider.flow(SELECTION)
    assert steps[0].key == "category"
    reads = ("/groups/4.json", "/interventionsets.json", "/interventions.json")
    assert sum(fake.count(path) for path in reads) == 3 + 2


async def test_reads_give_up_with_provider_unavailable(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    fake.control.fail_next("timeout", 10)
    with pytest.raises(ProviderUnavailable):
        await provider.options("service", SELECTION)
    assert fake.count("/interventions.json") == 3


async def test_appointment_creation_is_never_retried(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    today = fake.now().date()
    day = min(await provider.available_days(SELECTION, today, today + timedelta(days=10)))
    slot = (await provider.slots(SELECTION, day))[0]
    for mode in ("unavailable", "timeout", "error"):
        fake.control.fail_next(mode, 1, path_contains="/appointments.json")
        with pytest.raises(ProviderError):
            await provider.book(SELECTION, slot, CUSTOMER)
    assert fake.count("/appointments.json", "POST") == 3
    assert fake.live_appointments() == []


@pytest.mark.parametrize("call", ["flow", "slots", "fiches"])
async def test_malformed_json_becomes_provider_unavailable(
    provider: ClicrdvProvider, fake: FakeClicrdv, call: str
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    fake.control.fail_next("malformed", 1, sparing=ACCOUNT_READ_BACK)
    with pytest.raises(ProviderUnavailable):
        if call == "flow":
            await provider.flow(SELECTION)
        elif call == "slots":
            await provider.slots(SELECTION, fake.now().date() + timedelta(days=1))
        else:
            await provider.fiches(SELECTION)


async def test_a_malformed_booking_answer_says_the_appointment_may_exist(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    today = fake.now().date()
    day = min(await provider.available_days(SELECTION, today, today + timedelta(days=10)))
    slot = (await provider.slots(SELECTION, day))[0]
    fake.control.fail_next("malformed", 1, path_contains="/appointments.json")
    with pytest.raises(ProviderUnavailable) as failed:
        await provider.book(SELECTION, slot, CUSTOMER)
    assert "may have been made" in str(failed.value)


async def test_critical_path_with_a_warm_catalog_costs_five_sequential_round_trips(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    selection = Selection(
        choices={"category": ("9",), "service": ("21",), "calendar": ("15",)}, user_key="tg:7"
    )
    await provider.flow(selection)
    await provider.options("category", selection)
    await provider.options("service", selection)
    await provider.options("calendar", selection)
    fake.requests.clear()

    await provider.flow(selection)
    await provider.options("service", selection)
    await provider.options("calendar", selection)
    today = fake.now().date()
    day = min(await provider.available_days(selection, today, today + timedelta(days=30)))
    slot = (await provider.slots(selection, day))[0]
    await provider.sign_in(selection, EMAIL, PASSWORD)
    await provider.fiches(selection)
    await provider.book(selection, slot, CUSTOMER)
    account = f"{fake.accounts[EMAIL].id}.json"
    paths = [r.path.rsplit("/", 1)[-1] for r in fake.requests]
    # The fiche list and the session's read-back go together (one wait); the booking waits
    # for its read-back: ClicRDV answers no 401, so a lost session is noticed no other way.
    assert paths[:3] == ["availabletimeslots.json", "availabletimeslots.json", "login.json"]
    assert sorted(paths[3:5]) == sorted([account, "fiches.json"])
    assert paths[5:] == [account, "appointments.json"]
