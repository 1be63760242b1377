"""Alembic environment: async engine, batch mode for SQLite, the models' metadata as target."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import DEFAULT_DATABASE_URL, create_engine
from storage.locks import MIGRATIONS, lock_in_transaction
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    return (
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("BOOKBOT_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        # One run at a time on PostgreSQL (two containers starting together): the second
        # waits here, then finds the schema at head.
        lock_in_transaction(connection, MIGRATIONS)
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())
