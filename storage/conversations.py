"""Reading and writing conversation state: one read and one conditional write per update.

Writes are conditional on the version read (optimistic concurrency), so two workers handling
updates of the same conversation can never silently overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation

_table = cast(Table, Conversation.__table__)


@dataclass
class ConversationRecord:
    chat_id: int
    user_id: int
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    expires_at: datetime | None = None
    id: int | None = None

    @property
    def is_new(self) -> bool:
        return self.id is None


async def load(session: AsyncSession, chat_id: int, user_id: int) -> ConversationRecord:
    """The conversation of ``user_id`` in ``chat_id``, or a new empty one (not yet stored)."""
    row = (
        await session.execute(
            select(_table.c.id, _table.c.data, _table.c.version, _table.c.expires_at).where(
                _table.c.chat_id == chat_id, _table.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return ConversationRecord(chat_id=chat_id, user_id=user_id)
    return ConversationRecord(
        chat_id=chat_id,
        user_id=user_id,
        data=dict(row.data or {}),
        version=row.version,
        expires_at=row.expires_at,
        id=row.id,
    )


async def save(
    session: AsyncSession, record: ConversationRecord, *, expires_at: datetime, now: datetime
) -> bool:
    """Store ``record`` if nobody changed it since it was read; bump its version.

    Returns ``False`` (and stores nothing) when another writer got there first.
    """
    if record.id is None:
        try:
            async with session.begin_nested():
                result = await session.execute(
                    insert(_table)
                    .values(
                        chat_id=record.chat_id,
                        user_id=record.user_id,
                        data=record.data,
                        version=record.version + 1,
                        expires_at=expires_at,
                        updated_at=now,
                    )
                    .returning(_table.c.id)
                )
                record.id = result.scalar_one()
        except IntegrityError:
            return False
    else:
        result = await session.execute(
            update(_table)
            .where(_table.c.id == record.id, _table.c.version == record.version)
            .values(
                data=record.data, version=record.version + 1, expires_at=expires_at, updated_at=now
            )
        )
        if int(getattr(result, "rowcount", 0)) != 1:
            return False
    record.version += 1
    record.expires_at = expires_at
    return True


async def expired(
    session: AsyncSession, now: datetime, limit: int = 500
) -> list[ConversationRecord]:
    rows = (
        await session.execute(
            select(
                _table.c.id,
                _table.c.chat_id,
                _table.c.user_id,
                _table.c.data,
                _table.c.version,
                _table.c.expires_at,
            )
            .where(_table.c.expires_at < now)
            .order_by(_table.c.expires_at)
            .limit(limit)
        )
    ).all()
    return [
        ConversationRecord(
            chat_id=r.chat_id,
            user_id=r.user_id,
            data=dict(r.data or {}),
            version=r.version,
            expires_at=r.expires_at,
            id=r.id,
        )
        for r in rows
    ]


async def delete_if_unchanged(session: AsyncSession, record: ConversationRecord) -> bool:
    result = await session.execute(
        delete(_table).where(_table.c.id == record.id, _table.c.version == record.version)
    )
    return int(getattr(result, "rowcount", 0)) == 1
