"""A bookingtime adapter wired to a fresh fake, for the adapter tests and the benchmark."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from providers.base import ANY_OPTION, CustomerDetails, ProviderDeps, Selection
from providers.bookingtime import BookingtimeProvider
from providers.http import RetryPolicy
from tests.fakes.bookingtime import fake_http_client, secrets_for, settings_for
from tests.fakes.bookingtime.state import FakeBookingtime, FakeTemplate

TIMEZONE = ZoneInfo("Europe/Berlin")

CUSTOMER = CustomerDetails(
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.org",
    phone="+49 30 1234567",
    address="Unter den Linden 1, 10117 Berlin",
)


@dataclass
class World:
    fake: FakeBookingtime
    http: httpx.AsyncClient
    provider: BookingtimeProvider

    @property
    def haircut(self) -> FakeTemplate:
        """The default template without a resource choice."""
        return next(t for t in self.fake.organization.templates.values() if not t.choice)

    @property
    def consultation(self) -> FakeTemplate:
        """The default template with a choice between Anna and Ben."""
        return next(t for t in self.fake.organization.templates.values() if t.choice)

    def selection(
        self, service: FakeTemplate | None = None, resource: str | None = None, language: str = "en"
    ) -> Selection:
        choices: dict[str, tuple[str, ...]] = {}
        if service is not None:
            choices["service"] = (service.id,)
        if resource is not None:
            choices["resource"] = (resource,)
        return Selection(choices=choices, language=language, user_key="tg:7")

    def any_resource(self, service: FakeTemplate) -> Selection:
        return self.selection(service, ANY_OPTION)


@asynccontextmanager
async def bookingtime_world(
    fake: FakeBookingtime | None = None,
    *,
    http_timeout: float = 0.2,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    secrets: dict[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[World]:
    fake = fake or FakeBookingtime()
    async with fake_http_client(fake, timeout=http_timeout) as http:
        provider = BookingtimeProvider(
            ProviderDeps(
                business_slug="salon",
                timezone=TIMEZONE,
                settings=settings_for(fake, **settings),
                secrets=secrets if secrets is not None else secrets_for(fake),
                http=http,
                clock=fake.clock,
            ),
            retry=retry or RetryPolicy(),
            sleep=sleep or asyncio.sleep,
        )
        try:
            yield World(fake, http, provider)
        finally:
            await provider.aclose()
