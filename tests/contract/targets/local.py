"""The built-in calendar under the shared contract, on a fresh SQLite database, as the bot runs
it; ``local_postgresql`` runs the same calendar on PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.config import load_config
from bot.services import build_services
from providers.base import CustomerDetails
from tests.contract.harness import ContractTarget


@asynccontextmanager
async def on_database(url: str, name: str) -> AsyncIterator[ContractTarget]:
    """The sample salon's calendar on the (empty) database at ``url``."""
    config = load_config(env={}).model_copy(update={"database_url": url})
    services = await build_services(config, env={})
    try:
        yield ContractTarget(
            name=name,
            provider=services.providers["sample-salon"],
            customer=CustomerDetails(
                first_name="Anna",
                last_name="Martin",
                phone="+33612345678",
                email="anna@example.org",
            ),
        )
    finally:
        await services.aclose()


@asynccontextmanager
async def target() -> AsyncIterator[ContractTarget]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'contract.db'}"
        async with on_database(url, "local") as made:
            yield made
