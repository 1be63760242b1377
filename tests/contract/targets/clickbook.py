"""Contract target: the ClickBook adapter against the fake ClickBook SOAP server (a signed-in
customer books for themselves)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from providers.base import CustomerDetails, Selection
from tests.contract.harness import ContractTarget
from tests.fakes.clickbook import FakeClickbook, make_provider

EMAIL = "claire@example.org"
PASSWORD = "contract-password"


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    fake = FakeClickbook()
    fake.world.add_account(EMAIL, PASSWORD, first_name="Claire", last_name="Martin")
    with tempfile.TemporaryDirectory() as folder:
        provider = make_provider(fake, Path(folder))

        async def prepare(selection: Selection) -> Selection:
            # The Private API books for a signed-in user: sign in as the sign_in step would.
            await provider.sign_in(selection, EMAIL, PASSWORD)
            return selection

        try:
            yield ContractTarget(
                name="clickbook",
                provider=provider,
                customer=CustomerDetails(
                    first_name="Claire", last_name="Martin", phone="+33612345678", email=EMAIL
                ),
                fail_next=fake.control.fail_next,
                prepare=prepare,
                today=lambda: fake.world.now().date(),
                extra={"fake": fake},
            )
        finally:
            await provider.aclose()
            if provider.deps.http is not None:
                await provider.deps.http.aclose()
