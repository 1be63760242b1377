"""Contract target: :class:`providers.qmatic.QmaticProvider` wired to the fake Qmatic platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from providers.base import CustomerDetails, ProviderDeps
from providers.qmatic import QmaticProvider
from tests.contract.harness import ContractTarget
from tests.fakes.qmatic import QmaticFake

BASE_URL = "https://api.eu.qmatic.io"

#: A returning customer: their fiche keeps the external identifier an earlier booking generated.
CUSTOMER = CustomerDetails(
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.org",
    phone="+32470000000",
    provider_ref="5f0c2a9e7b1d4c3f8a6e9b2d1c0f7a3e",
)
#: Qmatic refuses a last name that is not 1 to 255 characters.
INVALID_CUSTOMER = CustomerDetails(first_name="Ada", last_name="", email="ada@example.org")


def make_provider(fake: QmaticFake, **settings: Any) -> QmaticProvider:
    """An adapter talking to ``fake``, with the fake's credentials and clock."""
    base: dict[str, Any] = {
        "base_url": BASE_URL,
        "account": fake.account,
        "tenant_id": fake.tenant_id,
        "client_id_env": "QMATIC_CLIENT_ID",
        "client_secret_env": "QMATIC_CLIENT_SECRET",
    }
    base.update(settings)
    deps = ProviderDeps(
        business_slug="brussels-city",
        timezone=fake.tz,
        settings=base,
        secrets={"QMATIC_CLIENT_ID": fake.client_id, "QMATIC_CLIENT_SECRET": fake.client_secret},
        http=fake.client(BASE_URL),
        clock=fake.clock,
    )
    return QmaticProvider(deps)


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    # The documented minimum: the API document gives its 201 answers no body schema, so the
    # reservation names itself only by its Location and the confirmation carries nothing.
    fake = QmaticFake(reservation_replies="location", confirmation_replies="empty")
    provider = make_provider(fake)
    try:
        yield ContractTarget(
            name="qmatic",
            provider=provider,
            customer=CUSTOMER,
            invalid_customer=INVALID_CUSTOMER,
            fail_next=fake.control.fail_next,
            today=fake.today,
            extra={"fake": fake},
        )
    finally:
        assert provider.deps.http is not None
        await provider.deps.http.aclose()
        await provider.aclose()
