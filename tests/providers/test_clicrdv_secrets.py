"""Credentials never leave the adapter: not in logs (ours or httpx/httpcore's), exception texts,
reprs or returned values."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest

from providers.base import CustomerDetails, ProviderError, Selection
from providers.clicrdv import redact
from tests.fakes.clicrdv import API_KEY, build_fake, make_provider

CANARY = "Canary-Pa55word-7f3e1c"
EMAIL = "ana@example.org"
CUSTOMER = CustomerDetails(first_name="Ana", last_name="Lopez", phone="0611223344", email=EMAIL)


async def test_canary_password_api_key_and_session_never_leak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "httpcore.http11", "httpcore.connection"):
        caplog.set_level(logging.DEBUG, logger=name)
    fake = build_fake(grouped=True, any_calendar=True)
    fake.add_account(EMAIL, CANARY)
    provider = make_provider(fake)
    selection = Selection(
        choices={"category": ("9",), "service": ("21",), "calendar": ("15",)}, user_key="tg:9"
    )
    errors: list[BaseException] = []
    seen: list[object] = [provider, provider._client]

    async def attempt(coro: object) -> object:
        try:
            result = await coro  # type: ignore[misc]
        except ProviderError as exc:
            errors.append(exc)
            return None
        seen.append(result)
        return result

    try:
        await attempt(provider.sign_in(selection, EMAIL, CANARY + "-wrong"))
        await attempt(provider.sign_in(selection, EMAIL, CANARY))
        await attempt(provider.flow(selection))
        for key in ("category", "service", "calendar"):
            await attempt(provider.options(key, selection))
        today = fake.now().date()
        days = await provider.available_days(selection, today, today + timedelta(days=14))
        # The fake runs on the wall clock: late in the day, today may have fewer than the three
        # slots this test books, so it takes the first day that has them.
        day, slots = min(days), []
        for day in sorted(days):
            slots = list(await provider.slots(selection, day))
            if len(slots) >= 3:
                break
        assert len(slots) >= 3, "no day with three free slots in two weeks"
        seen.extend(slots)
        await attempt(provider.fiches(selection))
        booking = await attempt(provider.book(selection, slots[0], CUSTOMER))
        await attempt(provider.book(selection, slots[0], CUSTOMER))  # SlotTaken
        fake.control.refuse_next_booking("MaxRdvNumber")
        await attempt(provider.book(selection, slots[1], CUSTOMER))
        for mode in ("unavailable", "timeout", "malformed", "error"):
            fake.control.fail_next(mode, 3)
            await attempt(provider.slots(selection, day))
            fake.control.fail_next(mode, 1)
            await attempt(provider.book(selection, slots[2], CUSTOMER))
        assert booking is not None
        await attempt(provider.cancel(booking.ref, selection))  # type: ignore[attr-defined]
        await attempt(provider.cancel(booking.ref, selection))  # type: ignore[attr-defined]
        fake.control.advance(timedelta(hours=2))
        await attempt(provider.fiches(selection))  # session expired
    finally:
        assert provider.deps.http is not None
        await provider.deps.http.aclose()

    sessions = [
        c.split("_session_id=")[1]
        for r in fake.requests
        for c in [r.headers.get("cookie", "")]
        if "_session_id=" in c
    ]
    assert sessions, "the session cookie was used"
    sha1 = hashlib.sha1(CANARY.encode(), usedforsecurity=False).hexdigest()
    forbidden = [CANARY, sha1, API_KEY, *sessions]

    assert len(errors) >= 8
    texts = [caplog.text, *(r.getMessage() for r in caplog.records)]
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(getattr(e, "message", "")) for e in errors]
    texts += [repr(v) for v in seen]
    for text in texts:
        for secret in forbidden:
            assert secret not in text, f"secret leaked into: {text[:200]}"

    # httpx really logged the URLs, with the key replaced.
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("availabletimeslots.json" in line for line in lines)
    assert all("apikey=[redacted]" in line for line in lines if "apikey" in line)
    assert any("account%5Bpassword%5D=[redacted]" in line for line in lines)


def test_scrub_removes_every_credential_shape() -> None:
    text = (
        "GET https://x/api?apikey=K123&account%5Bpassword%5D=abc123&account[password]=zz "
        "Set-Cookie: _session_id=deadbeef; Authorization: Basic YW5hOnNlY3JldA=="
    )
    cleaned = redact.scrub(text)
    for secret in ("K123", "abc123", "=zz", "deadbeef", "YW5hOnNlY3JldA=="):
        assert secret not in cleaned
    assert cleaned.count("[redacted]") == 5


def test_redacting_filter_rewrites_records_with_arguments() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: %s %s",
        ("GET", "https://x?apikey=S"),
        None,
    )
    assert redact.RedactingFilter().filter(record)
    assert record.getMessage() == "HTTP Request: GET https://x?apikey=[redacted]"
