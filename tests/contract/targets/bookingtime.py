"""The bookingtime adapter wired to the fake bookingtime platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from zoneinfo import ZoneInfo

from providers.base import CustomerDetails, ProviderDeps
from providers.bookingtime import BookingtimeProvider
from tests.contract.harness import ContractTarget, FailureMode
from tests.fakes.bookingtime import (
    FakeBookingtime,
    fake_http_client,
    secrets_for,
    settings_for,
)


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    fake = FakeBookingtime()
    tz = ZoneInfo("Europe/Berlin")
    async with fake_http_client(fake, timeout=0.2) as http:
        provider = BookingtimeProvider(
            ProviderDeps(
                business_slug="salon",
                timezone=tz,
                settings=settings_for(fake),
                secrets=secrets_for(fake),
                http=http,
                clock=fake.clock,
            )
        )

        def fail_next(mode: FailureMode, count: int) -> None:
            # Only the Module API fails: a token renewal is not what the suite exercises.
            fake.control.fail_next(
                "timeout" if mode == "timeout" else "unavailable",
                count,
                path_contains="/module/",
            )

        def today() -> date:
            return fake.clock().astimezone(tz).date()

        yield ContractTarget(
            name="bookingtime",
            provider=provider,
            customer=CustomerDetails(
                first_name="Ada",
                last_name="Lovelace",
                email="ada@example.org",
                phone="+49 30 1234567",
                address="Unter den Linden 1, 10117 Berlin",
            ),
            invalid_customer=CustomerDetails(
                first_name="Ada", last_name="Lovelace", email="not-an-email"
            ),
            fail_next=fail_next,
            today=today,
            extra={"fake": fake},
        )
        await provider.aclose()
