"""Migrations run up and down on SQLite and PostgreSQL, and leave the schema the models describe.

Written against whatever revisions exist (``head`` / ``base`` and the script directory's own
order), so a new migration is covered as soon as it lands.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from storage.db import SQLITE_BUSY_TIMEOUT_MS, create_engine
from storage.migrate import alembic_config, downgrade, upgrade_async
from storage.models import Base, Fiche

VERSION_TABLE = "alembic_version"

#: a snapshot of a schema: table -> sorted descriptions of its columns, indexes and constraints
Schema = dict[str, list[str]]


def revisions_in_order() -> list[tuple[str, str]]:
    """(revision, the one below it or "base"), from the first migration to head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    ordered = list(reversed(list(script.walk_revisions("base", "heads"))))
    return [
        (rev.revision, str(rev.down_revision) if rev.down_revision else "base") for rev in ordered
    ]


async def migrate_down(url: str, revision: str) -> None:
    # env.py runs its own event loop, so Alembic is driven from a thread.
    await asyncio.to_thread(downgrade, url, revision)


def _snapshot(connection: Connection) -> Schema:
    inspector = inspect(connection)
    schema: Schema = {}
    for table in inspector.get_table_names():
        if table == VERSION_TABLE:  # Alembic's bookkeeping, not the schema
            continue
        parts = [
            f"column {c['name']} {c['type']!r} nullable={c['nullable']}"
            for c in inspector.get_columns(table)
        ]
        parts += [
            f"index {i['name']} {i['column_names']} unique={bool(i['unique'])}"
            for i in inspector.get_indexes(table)
        ]
        parts += [
            f"unique {u['name']} {u['column_names']}"
            for u in inspector.get_unique_constraints(table)
        ]
        parts += [
            f"fk {f['name']} {f['constrained_columns']}->{f['referred_table']}"
            f"{f['referred_columns']} {f.get('options', {})}"
            for f in inspector.get_foreign_keys(table)
        ]
        schema[table] = sorted(parts)
    return schema


async def snapshot(url: str) -> Schema:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_snapshot)
    finally:
        await engine.dispose()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def schema_diff(url: str) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema_diff)
    finally:
        await engine.dispose()


def test_migrations_form_one_line_of_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}; merge them"
    assert len(script.get_bases()) == 1
    assert revisions_in_order(), "no migration at all"


async def test_up_to_head_down_to_base_and_up_again(empty_database_url: str) -> None:
    url = empty_database_url
    head = revisions_in_order()[-1][0]
    model_tables = set(Base.metadata.tables)

    await upgrade_async(url)
    assert await current_revision(url) == head
    first = await snapshot(url)
    assert set(first) == model_tables

    await migrate_down(url, "base")
    assert await current_revision(url) is None
    assert await snapshot(url) == {}, "everything the migrations created is gone"

    await upgrade_async(url)
    assert await current_revision(url) == head
    assert await snapshot(url) == first, "a second upgrade builds the same schema"


async def test_each_downgrade_undoes_its_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    for revision, below in revisions_in_order():
        before = await snapshot(url)
        await upgrade_async(url, revision)
        after = await snapshot(url)
        assert after != before, f"{revision} changed nothing"
        await migrate_down(url, below)
        assert await snapshot(url) == before, f"downgrading {revision} left a different schema"
        await upgrade_async(url, revision)
        assert await snapshot(url) == after, f"{revision} does not upgrade the same way twice"


async def test_models_match_the_migrated_schema(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    assert await schema_diff(empty_database_url) == []


async def test_the_comparison_notices_a_schema_that_drifted(empty_database_url: str) -> None:
    """Guards the test above: an empty diff means "no drift", not "nothing compared"."""
    await upgrade_async(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ALTER TABLE users ADD COLUMN stray INTEGER"))
    finally:
        await engine.dispose()
    diff = await schema_diff(empty_database_url)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("remove_column", "users", "stray")]


# -- SQLite connection settings ------------------------------------------------------------------


async def sqlite_settings(engine: AsyncEngine) -> tuple[str, int, int]:
    async with engine.connect() as connection:
        journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
        busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    return str(journal).lower(), int(foreign_keys), int(busy)


async def test_every_sqlite_connection_has_wal_foreign_keys_and_a_busy_timeout(
    database_url: str,
) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        # Two connections held at once, so the pool cannot hand back the same one.
        async with engine.connect() as one, engine.connect() as two:
            for connection in (one, two):
                assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
                assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
                busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
                assert busy == SQLITE_BUSY_TIMEOUT_MS > 0
    finally:
        await engine.dispose()


async def test_the_application_engine_enforces_foreign_keys_on_sqlite(services: Services) -> None:
    assert await sqlite_settings(services.engine) == ("wal", 1, SQLITE_BUSY_TIMEOUT_MS)
    async with services.sessions() as session:
        session.add(
            Fiche(user_id=999_999, business_id=999_999, label="me", first_name="A", last_name="B")
        )
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            await session.flush()
