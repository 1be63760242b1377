"""The bookingtime token chain: client credentials -> refresh token -> organization-bound access
token, renewed before expiry, once for all callers, after a 401, and from scratch when the
refresh token itself is refused; and no credential ever leaks."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

import httpx
import pytest

from providers.base import AuthFailed, ProviderError, Slot
from tests.fakes.bookingtime import FailureMode, FakeBookingtime
from tests.fakes.bookingtime.world import CUSTOMER, TIMEZONE, World, bookingtime_world


def today(world: World) -> date:
    return world.fake.clock().astimezone(TIMEZONE).date()


async def first_slots(world: World) -> tuple[date, list[Slot]]:
    selection = world.selection(world.haircut)
    first = today(world)
    days = await world.provider.available_days(selection, first, first + timedelta(days=14))
    # Not today: the lead time moves today's first slot as the clock advances.
    day = min(d for d in days if d > first)
    return day, list(await world.provider.slots(selection, day))


async def test_access_token_expiring_mid_flow_is_renewed_before_the_platform_refuses_it() -> None:
    async with bookingtime_world() as world:
        day, before = await first_slots(world)
        assert world.fake.grants("client_credentials") == 1
        assert world.fake.grants("refresh_token") == 1

        world.fake.clock.advance(301)  # the access token (300 s) is dead, the refresh one lives
        after = await world.provider.slots(world.selection(world.haircut), day)

        assert [s.start for s in after] == [s.start for s in before]
        assert world.fake.grants("refresh_token") == 2
        assert world.fake.grants("client_credentials") == 1
        assert all(r.status != 401 for r in world.fake.log), "renewal must come before expiry"


async def test_access_token_is_renewed_shortly_before_expiry_not_after() -> None:
    async with bookingtime_world() as world:
        day, _ = await first_slots(world)
        world.fake.clock.advance(200)
        await world.provider.slots(world.selection(world.haircut), day)
        assert world.fake.grants("refresh_token") == 1
        world.fake.clock.advance(50)  # 250 s: inside the last minute of 300 s
        await world.provider.slots(world.selection(world.haircut), day)
        assert world.fake.grants("refresh_token") == 2


async def test_expires_in_given_as_a_string_is_honoured() -> None:
    async with bookingtime_world(FakeBookingtime(expires_in_as_string=True)) as world:
        day, _ = await first_slots(world)
        world.fake.clock.advance(200)
        await world.provider.slots(world.selection(world.haircut), day)
        assert world.fake.grants("refresh_token") == 1
        world.fake.clock.advance(100)
        await world.provider.slots(world.selection(world.haircut), day)
        assert world.fake.grants("refresh_token") == 2


async def test_twenty_concurrent_callers_after_expiry_cause_exactly_one_renewal() -> None:
    async with bookingtime_world() as world:
        day, before = await first_slots(world)
        world.fake.clock.advance(400)
        grants_before = world.fake.grants("refresh_token")

        results = await asyncio.gather(
            *(world.provider.slots(world.selection(world.haircut), day) for _ in range(20))
        )

        assert all([s.start for s in r] == [s.start for s in before] for r in results)
        assert world.fake.grants("refresh_token") == grants_before + 1
        assert world.fake.grants("client_credentials") == 1
        assert len(world.fake.requests("/listDay")) == 1 + 20


async def test_401_mid_flow_renews_the_token_once_and_retries_the_call() -> None:
    async with bookingtime_world() as world:
        day, before = await first_slots(world)
        world.fake.revoke("access")  # the platform stops accepting the token it issued

        after = await world.provider.slots(world.selection(world.haircut), day)

        assert [s.start for s in after] == [s.start for s in before]
        day_calls = world.fake.requests("/listDay")
        assert [r.status for r in day_calls] == [200, 401, 200]
        assert world.fake.grants("refresh_token") == 2
        assert world.provider.client.access_renewals == 2


async def test_401_on_a_booking_is_retried_once_because_the_platform_did_not_process_it() -> None:
    async with bookingtime_world() as world:
        _, slots = await first_slots(world)
        world.fake.control.fail_next("unauthorized", 1, path_contains="appointment/add")

        booking = await world.provider.book(world.selection(world.haircut), slots[0], CUSTOMER)

        assert booking.start == slots[0].start
        adds = world.fake.requests("appointment/add")
        assert [r.status for r in adds] == [401, 201]
        assert len(world.fake.organization.appointments) == 1


async def test_a_second_401_after_renewal_is_auth_failed_not_a_loop() -> None:
    async with bookingtime_world() as world:
        day, _ = await first_slots(world)
        world.fake.control.fail_next("unauthorized", 10, path_contains="/module/")
        with pytest.raises(AuthFailed):
            await world.provider.slots(world.selection(world.haircut), day)
        assert [r.status for r in world.fake.requests("/listDay")[1:]] == [401, 401]


async def test_expired_refresh_token_restarts_the_chain_from_client_credentials() -> None:
    async with bookingtime_world() as world:
        day, before = await first_slots(world)
        world.fake.clock.advance(1900)  # both tokens are dead
        after = await world.provider.slots(world.selection(world.haircut), day)
        assert [s.start for s in after] == [s.start for s in before]
        assert world.fake.grants("client_credentials") == 2
        assert world.fake.grants("refresh_token") == 2


async def test_refresh_token_refused_by_the_platform_restarts_the_chain() -> None:
    async with bookingtime_world() as world:
        day, before = await first_slots(world)
        # Revoked early, so the adapter still thinks both tokens are good.
        world.fake.revoke("refresh")
        world.fake.revoke("access")

        after = await world.provider.slots(world.selection(world.haircut), day)

        assert [s.start for s in after] == [s.start for s in before]
        token_calls = [(r.grant_type, r.status) for r in world.fake.log if r.grant_type]
        assert token_calls[2:] == [
            ("refresh_token", 400),
            ("client_credentials", 200),
            ("refresh_token", 200),
        ]


async def test_access_token_of_one_organization_is_refused_for_another() -> None:
    async with bookingtime_world() as world:
        await world.provider.flow(world.selection())
        token = next(t for t in world.fake.tokens.values() if t.kind == "access")
        other = world.fake.other_organization.id
        answer = await world.http.get(
            f"https://api.bookingtime.com/module/v3/en/organization/{other}/bookingTemplate/list",
            headers={"Authorization": f"Bearer {token.value}"},
        )
        assert answer.status_code == 403
        assert answer.json()["messageList"][0]["type"] == "failure"


async def test_an_organization_the_module_may_not_access_is_auth_failed() -> None:
    fake = FakeBookingtime()
    foreign = fake.add_organization()  # exists, but this client is not permitted there
    async with bookingtime_world(fake, organization_id=foreign.id) as world:
        with pytest.raises(AuthFailed):
            await world.provider.flow(world.selection())


async def test_unknown_client_id_is_auth_failed() -> None:
    async with bookingtime_world(secrets={"BOOKINGTIME_CLIENT_ID": "23nobody"}) as world:
        with pytest.raises(AuthFailed):
            await world.provider.flow(world.selection())


async def test_missing_client_id_secret_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="BOOKINGTIME_CLIENT_ID"):
        async with bookingtime_world(secrets={}):
            pass


async def test_no_credential_appears_in_logs_reprs_or_error_texts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary_client = "23CANARYclientIDx9x9x9x9x9x9x9x9"
    fake = FakeBookingtime(client_id=canary_client)
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    async with bookingtime_world(fake) as world:
        day, slots = await first_slots(world)
        booking = await world.provider.book(world.selection(world.haircut), slots[0], CUSTOMER)
        failing: list[tuple[FailureMode, int]] = [
            ("unauthorized", 5),
            ("unavailable", 5),
            ("malformed", 1),
            ("server_error", 1),
        ]
        for mode, count in failing:
            world.fake.control.clear()
            world.fake.control.fail_next(mode, count, path_contains="/module/")
            try:
                await world.provider.slots(world.selection(world.haircut), day)
            except ProviderError as exc:
                texts += [str(exc), repr(exc), str(exc.message)]
        world.fake.control.clear()
        for attempt in (
            world.provider.book(world.selection(world.haircut), slots[0], CUSTOMER),
            world.provider.cancel(booking.ref, world.selection(world.haircut)),
            world.provider.cancel(booking.ref, world.selection(world.haircut)),
        ):
            try:
                await attempt
            except ProviderError as exc:
                texts += [str(exc), repr(exc)]
        world.fake.clock.advance(4000)
        world.fake.revoke("refresh")
        await world.provider.slots(world.selection(world.haircut), day)
        texts += [repr(world.provider), repr(world.provider.client)]
    async with bookingtime_world(
        secrets={"BOOKINGTIME_CLIENT_ID": "23CANARYunknownCLIENTx9x9x9x9x9"}
    ) as bad:
        try:
            await bad.provider.flow(bad.selection())
        except ProviderError as exc:
            texts += [str(exc), repr(exc)]

    assert len(texts) >= 8
    assert any(r.name.startswith("providers.bookingtime") for r in caplog.records)
    assert any("token" in r.getMessage() for r in caplog.records)
    canaries = [canary_client, "23CANARYunknownCLIENT", *fake.issued()]
    assert len(canaries) > 5
    haystack = caplog.text + "\n".join(texts)
    for record in caplog.records:
        haystack += repr(record.args)
    leaked = [c for c in canaries if c in haystack]
    assert not leaked


async def test_token_requests_are_form_encoded_to_the_documented_endpoint() -> None:
    seen: list[httpx.Request] = []
    async with bookingtime_world() as world:

        async def spy(request: httpx.Request) -> None:
            seen.append(request)

        world.http.event_hooks["request"].append(spy)
        await world.provider.flow(world.selection())
    token_posts = [r for r in seen if r.url.path == "/oauth/token"]
    assert [str(r.url) for r in token_posts] == ["https://auth.bookingtime.com/oauth/token"] * 2
    assert all(
        r.headers["content-type"] == "application/x-www-form-urlencoded" for r in token_posts
    )
    assert b"organization_id=" + world.fake.organization.id.encode() in token_posts[1].content
    api_calls = [r for r in seen if r.url.host == "api.bookingtime.com"]
    assert api_calls and all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)
