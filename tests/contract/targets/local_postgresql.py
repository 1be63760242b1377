"""The built-in calendar under the shared contract on a fresh PostgreSQL database (skipped
without a server, failed under ``CI=true``; see tests/storage/postgres.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.contract.harness import ContractTarget
from tests.contract.targets import local
from tests.storage.postgres import fresh_postgres_database


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    async with fresh_postgres_database() as url, local.on_database(url, "local_postgresql") as made:
        yield made
