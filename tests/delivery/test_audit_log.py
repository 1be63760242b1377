"""The audit log is append-only in the database itself, on SQLite and PostgreSQL: the
migration's triggers refuse UPDATE and DELETE, whoever sends them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from storage import audit
from storage.admin_models import AuditEntry
from tests.delivery.conftest import Db


async def test_audit_rows_cannot_be_changed_or_removed_on_sqlite(sqlite_db: Db) -> None:
    await cannot_be_changed_or_removed(sqlite_db)


async def test_audit_rows_cannot_be_changed_or_removed_on_postgres(pg_db: Db) -> None:
    await cannot_be_changed_or_removed(pg_db)


async def cannot_be_changed_or_removed(db: Db) -> None:
    async with db.sessions() as s, s.begin():
        await audit.record(
            s, actor_id=1, action="grant", business_id=None, detail={"user": 2},
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )  # fmt: skip
    for statement in ("UPDATE audit_log SET action = 'revoke'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.sessions() as s, s.begin():
                await s.execute(text(statement))
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 1
        [entry] = await audit.entries(s, limit=5)
    assert (entry.action, entry.detail) == ("grant", {"user": 2})
