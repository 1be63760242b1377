"""Contract target: the ClicRDV adapter against the fake ClicRDV API (service-first group)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from providers.base import CustomerDetails, Selection
from tests.contract.harness import ContractTarget
from tests.fakes.clicrdv import ACCOUNT_READ_BACK, build_fake, make_provider

EMAIL = "claire@example.org"
PASSWORD = "contract-password"


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    fake = build_fake(service_first=True, any_calendar=True, grouped=True)
    fake.add_account(EMAIL, PASSWORD, firstname="Claire", lastname="Martin")
    provider = make_provider(fake)

    async def prepare(selection: Selection) -> Selection:
        # ClicRDV books as a signed-in Account: sign in as the engine's sign_in step would.
        await provider.sign_in(selection, EMAIL, PASSWORD)
        return selection

    try:
        yield ContractTarget(
            name="clicrdv",
            provider=provider,
            customer=CustomerDetails(
                first_name="Claire", last_name="Martin", phone="0612345678", email=EMAIL
            ),
            invalid_customer=CustomerDetails(
                first_name="Claire", last_name="Martin", phone="0612345678", email="not-an-email"
            ),
            # The suite's failures are meant for the booking request itself, not for the
            # session check the adapter makes before it.
            fail_next=lambda mode, count: fake.control.fail_next(
                mode, count, sparing=ACCOUNT_READ_BACK
            ),
            prepare=prepare,
            today=lambda: fake.now().date(),
            extra={"fake": fake},
        )
    finally:
        await provider.aclose()
        if provider.deps.http is not None:
            await provider.deps.http.aclose()
