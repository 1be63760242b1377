"""The ClicRDV world the adapter tests share: Ana's account on the fake, a provider on it.

A test module takes the fixtures by assigning them (``fake = clicrdv_setup.fake``), and may
override ``fake`` with its own (a grouped catalog, say); ``provider`` is built on whichever
``fake`` the module has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from providers.base import CustomerDetails, Selection, Slot
from providers.clicrdv import ClicrdvProvider
from tests.fakes.clicrdv import FakeClicrdv, build_fake, make_provider

EMAIL = "ana@example.org"
PASSWORD = "pw-of-ana"
CUSTOMER = CustomerDetails(first_name="Ana", last_name="Lopez", phone="0611223344", email=EMAIL)
SELECTION = Selection(choices={"service": ("21",), "calendar": ("15",)}, user_key="tg:7")


def fake_with_ana(*, grouped: bool = False) -> FakeClicrdv:
    """The fake with Ana's account (``grouped``: the catalog in service groups)."""
    made = build_fake(grouped=grouped)
    made.add_account(EMAIL, PASSWORD)
    return made


@pytest.fixture
def fake() -> FakeClicrdv:
    return fake_with_ana()


@pytest.fixture
async def provider(fake: FakeClicrdv) -> AsyncIterator[ClicrdvProvider]:
    made = make_provider(fake)
    yield made
    assert made.deps.http is not None
    await made.deps.http.aclose()


async def a_slot(provider: ClicrdvProvider, fake: FakeClicrdv) -> Slot:
    """The first free slot of the next two weeks."""
    today = fake.now().date()
    days = await provider.available_days(SELECTION, today, today + timedelta(days=14))
    return (await provider.slots(SELECTION, min(days)))[0]
