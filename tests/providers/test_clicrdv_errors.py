"""ClicRDV's answers become the right domain errors: sign-in, sessions, the documented 400 codes."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from providers.base import (
    AuthFailed,
    BookingRefused,
    CustomerDetails,
    CustomerField,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Refusal,
    Selection,
    SlotTaken,
)
from providers.clicrdv import ClicrdvProvider, guesses
from providers.clicrdv.errors import ERROR_TABLE, Context, map_error
from tests.fakes.clicrdv import API_KEY, ERROR_CODES, FakeClicrdv, make_provider
from tests.providers import clicrdv_setup
from tests.providers.clicrdv_setup import CUSTOMER, EMAIL, PASSWORD, SELECTION, a_slot

# the shared fixtures: Ana's account on the fake, a provider on it
fake = clicrdv_setup.fake
provider = clicrdv_setup.provider


async def test_wrong_password_raises_auth_failed_and_a_retry_works(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    with pytest.raises(AuthFailed):
        await provider.sign_in(SELECTION, EMAIL, "not-the-password")
    assert await provider.fiches(SELECTION) == ()
    account = await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    assert account.email == EMAIL and account.ref
    assert await provider.fiches(SELECTION) == []


async def test_login_sends_the_sha1_of_the_password_never_the_password(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    (login,) = [r for r in fake.requests if r.path.endswith("/sessions/login.json")]
    sha1 = hashlib.sha1(PASSWORD.encode(), usedforsecurity=False).hexdigest()
    assert login.query["account[password]"] == [sha1]
    assert all(PASSWORD not in str(r) for r in fake.requests)


async def test_unknown_email_raises_auth_failed(provider: ClicrdvProvider) -> None:
    with pytest.raises(AuthFailed):
        await provider.sign_in(SELECTION, "nobody@example.org", PASSWORD)


async def test_booking_without_signing_in_raises_auth_failed_before_any_request(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    slot = await a_slot(provider, fake)
    with pytest.raises(AuthFailed):
        await provider.book(SELECTION, slot, CUSTOMER)
    assert fake.count("/appointments.json", "POST") == 0


async def test_an_expired_session_raises_auth_failed_and_signing_in_again_books(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    fake.control.advance(timedelta(hours=1))
    with pytest.raises(AuthFailed):
        await provider.book(SELECTION, slot, CUSTOMER)
    fake.control.advance(-timedelta(hours=1))
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    booking = await provider.book(SELECTION, slot, CUSTOMER)
    assert booking.ref


@pytest.mark.parametrize(
    ("code", "error", "detail"),
    [
        ("MaxRdvNumber", BookingRefused, "MaxRdvNumber"),
        ("MintimeBetween", BookingRefused, "MintimeBetween"),
        ("MaxRdvPeriod", BookingRefused, "MaxRdvPeriod"),
        ("MintimeRdv", BookingRefused, "MintimeRdv"),
        ("SameTimeRdv", BookingRefused, "SameTimeRdv"),
        ("NotAvailable", SlotTaken, None),
        ("EmailAlreadyExists", InvalidCustomerData, CustomerField.EMAIL),
        ("EmailNotFound", AuthFailed, None),
    ],
)
async def test_each_documented_code_becomes_its_own_domain_error(
    provider: ClicrdvProvider,
    fake: FakeClicrdv,
    code: str,
    error: type[ProviderError],
    detail: object,
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    fake.control.refuse_next_booking(code)
    with pytest.raises(error) as refused:
        await provider.book(SELECTION, slot, CUSTOMER)
    if isinstance(refused.value, BookingRefused):
        assert refused.value.reason == detail
    if isinstance(refused.value, InvalidCustomerData):
        assert refused.value.field == detail
    # The platform's own text is what the user sees.
    assert refused.value.message == ERROR_CODES[code][1]
    assert fake.live_appointments() == []


@pytest.mark.parametrize(
    ("code", "context", "kind"),
    [
        ("MaxRdvNumber", "booking", Refusal.TOO_MANY_BOOKINGS),
        ("MintimeBetween", "booking", Refusal.TOO_CLOSE_TO_ANOTHER),
        ("MaxRdvPeriod", "booking", Refusal.TOO_FAR_AHEAD),
        ("MintimeRdv", "booking", Refusal.TOO_SOON),
        ("SameTimeRdv", "booking", Refusal.SAME_TIME),
        ("EmailAlreadyExists", "account", Refusal.ACCOUNT_EXISTS),
        ("EmailNotFound", "booking", Refusal.ACCOUNT_UNKNOWN),
    ],
)
def test_each_rule_code_is_told_to_the_engine_as_its_refusal_kind(
    code: str, context: Context, kind: Refusal
) -> None:
    error = map_error(400, {"error": {"name": code}}, "", context)
    assert isinstance(error, BookingRefused | AuthFailed)
    assert error.kind is kind


def test_error_table_has_one_row_per_documented_code() -> None:
    assert [row.name for row in ERROR_TABLE] == [
        "MaxRdvNumber",
        "MintimeBetween",
        "MaxRdvPeriod",
        "MintimeRdv",
        "NotAvailable",
        "EmailAlreadyExists",
        "SameTimeRdv",
        "EmailNotFound",
    ]


async def test_same_time_appointment_on_another_calendar_is_refused(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    await provider.book(SELECTION, slot, CUSTOMER)
    on_bob = Selection(choices={"service": ("21",), "calendar": ("16",)}, user_key="tg:7")
    (same_time,) = [
        s for s in await provider.slots(on_bob, slot.start.date()) if s.start == slot.start
    ]
    with pytest.raises(BookingRefused) as refused:
        await provider.book(on_bob, same_time, CUSTOMER)
    assert refused.value.reason == "SameTimeRdv"


async def test_new_fiche_with_another_users_email_asks_for_another_email(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    fake.add_account("taken@example.org", "x")
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    someone = CustomerDetails(first_name="A", last_name="B", email="taken@example.org")
    with pytest.raises(InvalidCustomerData) as refused:
        await provider.book(SELECTION, slot, someone)
    assert refused.value.field == CustomerField.EMAIL


async def test_too_long_last_name_is_refused_with_that_field(
    provider: ClicrdvProvider, fake: FakeClicrdv
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    slot = await a_slot(provider, fake)
    long_name = CustomerDetails(first_name="A", last_name="x" * 65, email=EMAIL)
    with pytest.raises(InvalidCustomerData) as refused:
        await provider.book(SELECTION, slot, long_name)
    assert refused.value.field == CustomerField.LAST_NAME
    # The platform's reason names its own field key ("lastname ..."): kept for the logs, not
    # shown; the engine asks for that field again in the user's language.
    assert refused.value.detail is not None and "64" in refused.value.detail
    assert refused.value.message is None


async def test_cancelling_an_unknown_appointment_raises_not_found(
    provider: ClicrdvProvider,
) -> None:
    await provider.sign_in(SELECTION, EMAIL, PASSWORD)
    with pytest.raises(NotFound):
        await provider.cancel("999999", SELECTION)


async def test_the_fake_refuses_calls_without_or_with_a_wrong_api_key(fake: FakeClicrdv) -> None:
    transport = httpx.ASGITransport(app=fake)
    async with httpx.AsyncClient(transport=transport, base_url="https://x.test") as http:
        missing = await http.get("/api/v1/groups/4.json")
        wrong = await http.get("/api/v1/groups/4.json", params={"apikey": "nope"})
        right = await http.get("/api/v1/groups/4.json", params={"apikey": API_KEY})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 403, 200)


async def test_a_refused_api_key_is_a_provider_problem_not_the_users(fake: FakeClicrdv) -> None:
    revoked = make_provider(fake).deps
    provider = ClicrdvProvider(replace(revoked, secrets={"CLICRDV_TEST_KEY": "revoked"}))
    try:
        with pytest.raises(ProviderUnavailable):
            await provider.flow(SELECTION)
    finally:
        assert provider.deps.http is not None
        await provider.deps.http.aclose()


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": 6, "name": "MaxRdvNumber", "message": "Too many"}},
        {"errors": [{"code": 6, "error": "MaxRdvNumber", "message": "Too many"}]},
        {"code": 6, "message": "Too many"},
        {"code": "MaxRdvNumber", "message": "Too many"},
    ],
)
def test_error_bodies_of_every_guessed_shape_are_understood(body: dict[str, object]) -> None:
    error = map_error(400, body, str(body), "booking")
    assert isinstance(error, BookingRefused) and error.reason == "MaxRdvNumber"
    assert error.message == "Too many"


def test_a_code_name_in_an_unexpected_body_is_still_found() -> None:
    error = map_error(400, None, "<html>NotAvailable</html>", "booking")
    assert isinstance(error, SlotTaken)


def test_email_already_exists_on_account_creation_means_sign_in() -> None:
    body = {"errors": [{"code": 11, "error": "EmailAlreadyExists"}]}
    assert isinstance(map_error(400, body, "", "account"), AuthFailed)
    assert isinstance(map_error(400, body, "", "booking"), InvalidCustomerData)


def test_unknown_400_on_a_booking_is_a_refusal_with_the_platform_text() -> None:
    error = map_error(400, {"errors": [{"message": "Nope"}]}, "", "booking")
    assert isinstance(error, BookingRefused) and error.reason == "Rejected"
    assert error.message == "Nope"


def test_not_available_number_is_an_isolated_guess() -> None:
    assert guesses.NOT_AVAILABLE_CODE == 10
    error = map_error(400, {"errors": [{"code": 10}]}, "", "booking")
    assert isinstance(error, SlotTaken)


def test_configuration_errors_name_the_variable_never_a_value() -> None:
    from zoneinfo import ZoneInfo

    from providers.base import ProviderDeps

    deps = ProviderDeps(
        business_slug="s",
        timezone=ZoneInfo("Europe/Paris"),
        settings={"group_id": 4, "environment": "sandbox", "api_key_env": "CLICRDV_KEY"},
        secrets={},
    )
    with pytest.raises(ValueError, match="CLICRDV_KEY is not set"):
        ClicrdvProvider(deps)
    with pytest.raises(ValueError, match="group_id"):
        ClicrdvProvider(ProviderDeps("s", ZoneInfo("UTC"), {}, {"CLICRDV_API_KEY": API_KEY}))


async def test_environment_selects_the_documented_base_url() -> None:
    from zoneinfo import ZoneInfo

    from providers.base import ProviderDeps

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.scheme}://{request.url.host}")
        return httpx.Response(200, json={"id": 4, "calendarChoice": 2})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        for environment in ("sandbox", "production"):
            deps = ProviderDeps(
                "s",
                ZoneInfo("Europe/Paris"),
                {"group_id": 4, "environment": environment},
                {"CLICRDV_API_KEY": API_KEY},
                http=http,
            )
            await ClicrdvProvider(deps).group()
    assert seen == ["https://sandbox.clicrdv.com", "https://www.clicrdv.com"]
