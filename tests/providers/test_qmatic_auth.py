"""Qmatic adapter: the OAuth2 token and headers, retries of reads but never of confirmations,
and credentials that never leak into logs, exception texts or reprs."""

from __future__ import annotations

import asyncio
import base64
import logging

import httpx
import pytest

from providers.base import (
    AuthFailed,
    ProviderError,
    ProviderUnavailable,
    Selection,
)
from providers.qmatic import QmaticProvider
from providers.qmatic.api import SCOPES
from tests.contract.targets.qmatic import CUSTOMER, make_provider
from tests.fakes.qmatic import QmaticFake
from tests.providers import qmatic_setup
from tests.providers.qmatic_setup import ANSWERS, PASSPORT

# the shared fixtures: the fake, a provider on it
fake = qmatic_setup.fake
provider = qmatic_setup.provider


def token_requests(fake: QmaticFake) -> list[object]:
    return [r for r in fake.requests if r.path == "/oauth2/token"]


async def test_token_request_uses_basic_auth_account_header_and_the_three_scopes(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    await provider.flow(Selection())
    (request,) = [r for r in fake.requests if r.path == "/oauth2/token"]
    expected = base64.b64encode(b"client-abc:s3cr3t-client-value").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["x-account"] == "brusselscity"
    form = request.body.decode()
    assert "grant_type=client_credentials" in form
    granted = next(iter(fake.tokens.values()))[1]
    assert granted == frozenset(SCOPES)


async def test_every_api_call_carries_the_token_and_the_tenant(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slots = await provider.slots(PASSPORT, fake.today())
    booking = await provider.book(PASSPORT, slots[0], CUSTOMER, answers=ANSWERS)
    await provider.cancel(booking.ref, PASSPORT)
    calls = fake.api_requests()
    assert len(calls) >= 5
    token = next(iter(fake.tokens))
    for call in calls:
        assert call.headers["x-tenant-id"] == "tenant-0001"
        assert call.headers["authorization"] == f"Bearer {token}"
    assert len(token_requests(fake)) == 1  # one token for the whole booking


async def test_token_is_renewed_before_it_expires(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    await provider.flow(Selection())
    fake.clock.advance(minutes=59, seconds=30)  # 30 s left: inside the renewal margin
    await provider.slots(PASSPORT, fake.today())
    assert len(token_requests(fake)) == 2
    assert (
        fake.api_requests("GET", "/timeslots")[-1]
        .headers["authorization"]
        .endswith(list(fake.tokens)[-1])
    )


async def test_concurrent_calls_share_one_token_request(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    await asyncio.gather(
        *(provider.slots(PASSPORT, fake.today()) for _ in range(5)),
        provider.flow(Selection()),
    )
    assert len(token_requests(fake)) == 1


async def test_a_revoked_token_is_renewed_once_and_the_call_repeated(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    slots = await provider.slots(PASSPORT, fake.today())
    fake.revoke_tokens()
    # Even a booking is repeated after a 401: the platform did not process it.
    booking = await provider.book(PASSPORT, slots[0], CUSTOMER, answers=ANSWERS)
    assert len(token_requests(fake)) == 2
    assert [a.id for a in fake.active_appointments()] == [booking.ref]


async def test_wrong_client_secret_raises_auth_failed_without_the_secret(
    fake: QmaticFake,
) -> None:
    provider = make_provider(fake)
    fake.client_secret = "rotated-secret-value"  # the platform no longer accepts ours
    with pytest.raises(AuthFailed) as failed:
        await provider.flow(Selection())
    text = f"{failed.value} {failed.value!r} {failed.value.message}"
    assert "s3cr3t" not in text and "rotated" not in text


async def test_wrong_account_header_is_refused_as_auth_failed(fake: QmaticFake) -> None:
    provider = make_provider(fake, account="someoneelse")
    with pytest.raises(AuthFailed):
        await provider.flow(Selection())


async def test_wrong_tenant_is_refused(fake: QmaticFake) -> None:
    provider = make_provider(fake, tenant_id="tenant-9999")
    with pytest.raises(ProviderError):
        await provider.flow(Selection())
    assert fake.api_requests()[-1].headers["x-tenant-id"] == "tenant-9999"


@pytest.mark.parametrize("mode", ["timeout", "unavailable"])
async def test_reads_are_retried_after_a_timeout_or_5xx(
    fake: QmaticFake, provider: QmaticProvider, mode: str
) -> None:
    expected = await provider.slots(PASSPORT, fake.today())
    before = len(fake.api_requests("GET", "/timeslots"))
    fake.control.fail_next(mode, 2)
    assert await provider.slots(PASSPORT, fake.today()) == expected
    assert len(fake.api_requests("GET", "/timeslots")) == before + 3


async def test_catalog_read_is_retried_too(fake: QmaticFake, provider: QmaticProvider) -> None:
    await provider.slots(PASSPORT, fake.today())  # token and catalog
    provider._catalogs.clear()
    fake.control.fail_next("unavailable", 1)
    assert await provider.options("service", Selection({"service_group": ("g-docs",)}))


@pytest.mark.parametrize("mode", ["timeout", "unavailable", "error"])
async def test_confirmation_is_never_retried(
    fake: QmaticFake, provider: QmaticProvider, mode: str
) -> None:
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    hold = await provider.hold(PASSPORT, slot)
    fake.control.fail_next(mode, 1)
    with pytest.raises(ProviderUnavailable):
        await provider.book(PASSPORT, slot, CUSTOMER, answers=ANSWERS, hold=hold)
    assert len(fake.api_requests("PUT")) == 1
    assert fake.active_appointments() == []


async def test_reservation_is_never_retried(fake: QmaticFake, provider: QmaticProvider) -> None:
    slot = (await provider.slots(PASSPORT, fake.today()))[0]
    fake.control.fail_next("timeout", 1)
    with pytest.raises(ProviderUnavailable):
        await provider.hold(PASSPORT, slot)
    assert len(fake.api_requests("POST", "/reservations")) == 1


async def test_malformed_json_becomes_provider_unavailable(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    await provider.flow(Selection())
    fake.control.fail_next("malformed", 1)
    with pytest.raises(ProviderUnavailable):
        await provider.slots(PASSPORT, fake.today())


async def test_no_secret_or_token_in_logs_exceptions_or_reprs(
    fake: QmaticFake, provider: QmaticProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    slots = await provider.slots(PASSPORT, fake.today())
    hold = await provider.hold(PASSPORT, slots[0])
    booking = await provider.book(PASSPORT, slots[0], CUSTOMER, answers=ANSWERS, hold=hold)
    await provider.cancel(booking.ref, PASSPORT)
    for mode in ("unavailable", "timeout", "malformed", "error"):
        fake.control.fail_next(mode, 3)
        try:
            await provider.book(PASSPORT, slots[1], CUSTOMER, answers=ANSWERS)
        except ProviderError as exc:
            errors.append(exc)
    fake.revoke_tokens()
    fake.clock.advance(hours=2)
    fake.client_secret = "rotated"
    try:
        await provider.slots(PASSPORT, fake.today())
    except ProviderError as exc:
        errors.append(exc)
    assert len(errors) == 5

    secrets = ["s3cr3t-client-value", base64.b64encode(b"client-abc:s3cr3t-client-value").decode()]
    secrets += list(fake.tokens) + [
        r.headers["authorization"].removeprefix("Bearer ")
        for r in fake.api_requests()
        if "authorization" in r.headers
    ]
    exposed = [caplog.text, repr(provider), repr(provider._client), repr(provider._client.token)]
    exposed += [f"{e} {e!r} {getattr(e, 'message', '')}" for e in errors]
    exposed += [repr(hold), repr(booking), repr(slots)]
    for secret in secrets:
        assert len(secret) > 8
        for text in exposed:
            assert secret not in text


async def _raw_token(fake: QmaticFake, http: httpx.AsyncClient, scope: str) -> str:
    answer = await http.post(
        "/oauth2/token",
        auth=(fake.client_id, fake.client_secret),
        headers={"X-ACCOUNT": fake.account},
        data={"grant_type": "client_credentials", "scope": scope},
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


async def test_fake_enforces_token_expiry_tenant_and_scopes(fake: QmaticFake) -> None:
    async with fake.client() as http:
        token = await _raw_token(fake, http, SCOPES[0])  # book scope only
        bearer = {"Authorization": f"Bearer {token}", "Accept-Language": "en_US"}
        tenant = {"X-TENANT-ID": fake.tenant_id}
        ok = await http.get("/external/v1/services", headers=bearer | tenant)
        assert ok.status_code == 200
        no_tenant = await http.get("/external/v1/services", headers=bearer)
        assert no_tenant.status_code == 400
        no_scope = await http.delete("/external/v1/appointments/x", headers=bearer | tenant)
        assert no_scope.status_code == 403
        fake.clock.advance(minutes=61)
        expired = await http.get("/external/v1/services", headers=bearer | tenant)
        assert expired.status_code == 401
        assert expired.json()["errorCode"] == "unauthorized"
        no_account = await http.post(
            "/oauth2/token",
            auth=(fake.client_id, fake.client_secret),
            data={"grant_type": "client_credentials"},
        )
        assert no_account.status_code == 400
        bad_scope = await http.post(
            "/oauth2/token",
            auth=(fake.client_id, fake.client_secret),
            headers={"X-ACCOUNT": fake.account},
            data={"grant_type": "client_credentials", "scope": "admin"},
        )
        assert bad_scope.status_code == 400
