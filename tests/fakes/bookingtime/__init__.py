"""A fake bookingtime platform (auth server + Module API v3) for tests and benchmarks.

Usage::

    fake = FakeBookingtime()
    async with fake_http_client(fake) as http:
        deps = ProviderDeps(..., http=http, clock=fake.clock,
                            settings=settings_for(fake), secrets=secrets_for(fake))

``fake.control`` injects latency and failures, ``fake.log`` records every request (method,
path, locale, grant type, status) so tests can count round trips, ``fake.clock`` is the
injectable clock on which tokens expire and the booking window moves.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.fakes.bookingtime.app import FakeBookingtimeApp
from tests.fakes.bookingtime.state import (
    Control,
    FailureMode,
    FakeBookingtime,
    FakeClock,
    RecordedRequest,
)

CLIENT_ID_ENV = "BOOKINGTIME_CLIENT_ID"


class DeadlineTransport(httpx.AsyncBaseTransport):
    """Applies the client's read timeout to an in-process ASGI app, as a socket would: a
    request the app does not answer in time raises :class:`httpx.ReadTimeout`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(self._inner.handle_async_request(request), timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("the fake did not answer in time", request=request) from None


def fake_http_client(fake: FakeBookingtime, *, timeout: float = 1.0) -> httpx.AsyncClient:
    """An HTTP client whose every request reaches ``fake`` in process."""
    app = FakeBookingtimeApp(fake)
    transport = DeadlineTransport(httpx.ASGITransport(app=app))
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout))


def settings_for(fake: FakeBookingtime, **extra: Any) -> dict[str, Any]:
    """Business settings pointing at the fake's default organization."""
    return {
        "organization_id": fake.organization.id,
        "client_id_env": CLIENT_ID_ENV,
        **extra,
    }


def secrets_for(fake: FakeBookingtime) -> dict[str, str]:
    return {CLIENT_ID_ENV: fake.client_id}


__all__ = [
    "CLIENT_ID_ENV",
    "Control",
    "DeadlineTransport",
    "FailureMode",
    "FakeBookingtime",
    "FakeBookingtimeApp",
    "FakeClock",
    "RecordedRequest",
    "fake_http_client",
    "secrets_for",
    "settings_for",
]
