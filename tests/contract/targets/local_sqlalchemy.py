"""The built-in calendar under the shared contract on the SQLAlchemy path (no fast lane): the
path PostgreSQL takes, checked here on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.contract.harness import ContractTarget
from tests.contract.targets import local


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    async with local.target(fastlane=False) as made:
        yield made
