"""PostgreSQL for tests: where the server is, and a fresh empty database per test.

The server is found at ``BOOKBOT_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``). When it does not answer, tests that
need it are skipped with the reason, except under ``CI=true``, where they fail: CI promises a
server, so a missing one is a broken pipeline, not a reason to go green.

Each test gets a database of its own (``bookbot_test_<random>``), created from the server's
``test`` database and dropped afterwards, so parallel and later runs never see each other's
tables. A database rather than a schema, because the application takes nothing but a URL
(``build_services``, ``bookbot migrate``) and a URL can name a database but not a search path
with asyncpg.

``empty_database_url`` runs a test twice, on a SQLite file and on PostgreSQL: the one storage path
is the same on both.

The fixtures live here rather than in a ``conftest.py`` so tests outside ``tests/storage`` can
import them (``from tests.storage.postgres import postgres_url``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "BOOKBOT_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_S = 3


def postgres_server_url() -> str:
    """The configured server URL (its database is only used to create and drop test ones)."""
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


def postgres_required() -> bool:
    """Under ``CI=true`` a missing server fails the tests instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() == "true"


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _admin_execute(server_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE refuse to run inside one)."""
    engine = create_async_engine(
        server_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": CONNECT_TIMEOUT_S},
    )
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped when the block ends.

    Skips the test when no server answers (fails it instead under ``CI=true``)."""
    server_url = postgres_server_url()
    try:
        await _admin_execute(server_url, "SELECT 1")
    except (OSError, DBAPIError) as error:  # refused, timed out, unknown user or database
        reason = f"no PostgreSQL server answers at {_shown(server_url)} ({error!r})"
        if postgres_required():
            pytest.fail(f"{reason}; CI=true requires one (set {POSTGRES_URL_ENV} to point at it)")
        pytest.skip(f"{reason}; set {POSTGRES_URL_ENV} to use another server")
    name = f"bookbot_test_{uuid.uuid4().hex[:16]}"
    await _admin_execute(server_url, f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE: a test that failed half-way may have left a connection open.
        await _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test (see
    :func:`fresh_postgres_database`)."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: a SQLite file, then a PostgreSQL database (see
    :func:`postgres_url`); the one storage path runs on both."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"
    return str(request.getfixturevalue("postgres_url"))
