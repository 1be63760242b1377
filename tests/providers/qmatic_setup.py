"""The Qmatic world the adapter tests share: a booking of a passport appointment on the fake.

A test module takes the fixtures by assigning them (``fake = qmatic_setup.fake``), and may
override ``fake`` with its own; ``provider`` is built on whichever ``fake`` the module has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from providers.base import ANY_OPTION, Selection
from providers.qmatic import QmaticProvider
from tests.contract.targets.qmatic import make_provider
from tests.fakes.qmatic import QmaticFake

#: A passport appointment at the city branch, any counter, one person (screening questions).
PASSPORT = Selection(
    {
        "service_group": ("g-docs",),
        "service": ("svc-passport",),
        "branch": ("b-city",),
        "resource": (ANY_OPTION,),
        "party_size": ("1",),
    }
)
#: The answers to the passport service's questions.
ANSWERS = {"screening:0": "yes", "information:0": "Mine expired"}


@pytest.fixture
def fake() -> QmaticFake:
    return QmaticFake()


@pytest.fixture
async def provider(fake: QmaticFake) -> AsyncIterator[QmaticProvider]:
    made = make_provider(fake)
    yield made
    assert made.deps.http is not None
    await made.deps.http.aclose()
