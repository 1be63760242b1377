"""The built-in calendar under the shared contract, on a fresh SQLite database, through SQLite's
fast lane (storage/fastlane.py) as the bot runs it; ``local_sqlalchemy`` runs the same calendar
on the SQLAlchemy path that PostgreSQL uses."""

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
async def target(*, fastlane: bool = True) -> AsyncIterator[ContractTarget]:
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(env={}).model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{Path(folder) / 'contract.db'}"}
        )
        services = await build_services(config, env={}, fastlane=fastlane)
        assert (services.fastlane is not None) == fastlane
        try:
            yield ContractTarget(
                name="local" if fastlane else "local_sqlalchemy",
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
