"""Reading and writing conversation state: one read and one conditional write per update.

Writes are conditional on the version read (optimistic concurrency), so two workers handling
updates of the same conversation can never silently overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.db import by_dialect
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


# Built once: a statement object keeps its compiled form and cache key, so the two queries
# every update makes skip SQLAlchemy's statement construction and cache-key walk. They run as
# Core on the caller's connection (no ORM layer: there are no objects to track).
_LOAD = select(_table.c.id, _table.c.data, _table.c.version, _table.c.expires_at).where(
    _table.c.chat_id == bindparam("p_chat_id"), _table.c.user_id == bindparam("p_user_id")
)
#: The conditional write of an update: the new state, its version and when it was written...
_UPDATE_KEEPING_EXPIRY = (
    update(_table)
    .where(_table.c.id == bindparam("p_id"), _table.c.version == bindparam("p_version"))
    .values(
        data=bindparam("p_data", type_=_table.c.data.type),
        version=bindparam("p_new_version"),
        updated_at=bindparam("p_updated_at", type_=_table.c.updated_at.type),
    )
)
#: ... and, when it has to move (see :func:`next_expiry`), its expiry.
_UPDATE = _UPDATE_KEEPING_EXPIRY.values(
    expires_at=bindparam("p_expires_at", type_=_table.c.expires_at.type)
)
#: A new conversation, unless an update of the same user created it first (then no row comes
#: back). "On conflict do nothing" needs no SAVEPOINT around it, which PostgreSQL would need to
#: carry on after a failed insert.
_INSERT = by_dialect(
    lambda insert: (
        insert(_table)
        .on_conflict_do_nothing(index_elements=[_table.c.chat_id, _table.c.user_id])
        .returning(_table.c.id)
    )
)

#: The most an update may leave a conversation's stored expiry behind "now + idle time".
MAX_EXPIRY_LAG = timedelta(seconds=60)


def next_expiry(stored: datetime | None, wanted: datetime, now: datetime) -> datetime:
    """The expiry a conversation gets on this update: ``wanted`` (now + the idle time), or
    the ``stored`` one when that is close enough (and then the update leaves it as it is).

    ``expires_at`` is indexed (the sweep finds idle conversations by it), and rewriting an
    indexed value moves its index entry: more pages to write on every update, which at
    100,000 stored conversations cost about as much as the rest of the write. A user taps
    several times a minute, so the expiry only moves forward once it lags behind ``wanted``
    by more than a minute (or 5% of the idle time, if that is shorter): a conversation then
    expires at most that much before its exact idle time, never after it.
    """
    if stored is None or stored > wanted:
        return wanted
    lag_allowed = min(MAX_EXPIRY_LAG, (wanted - now) / 20)
    return stored if wanted - stored <= lag_allowed else wanted


def read(connection: Connection, chat_id: int, user_id: int) -> ConversationRecord:
    """The conversation of ``user_id`` in ``chat_id``, or a new empty one (not yet stored), on
    a synchronous connection: the body of :func:`load`, for callers that run several
    statements in one ``AsyncConnection.run_sync``."""
    row = connection.execute(_LOAD, {"p_chat_id": chat_id, "p_user_id": user_id}).first()
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


def write(
    connection: Connection, record: ConversationRecord, *, expires_at: datetime, now: datetime
) -> bool:
    """Store ``record`` if nobody changed it since it was read, and bump its version (in the
    connection's transaction), on a synchronous connection: the body of :func:`save`.

    Returns ``False`` (and stores nothing) when another writer got there first.
    """
    if record.id is None:
        result = connection.execute(
            _INSERT[connection.dialect.name],
            {
                "chat_id": record.chat_id,
                "user_id": record.user_id,
                "data": record.data,
                "version": record.version + 1,
                "expires_at": expires_at,
                "updated_at": now,
            },
        )
        new_id = result.scalar()
        if new_id is None:
            return False  # another update created it first
        record.id = new_id
    else:
        parameters = {
            "p_id": record.id,
            "p_version": record.version,
            "p_data": record.data,
            "p_new_version": record.version + 1,
            "p_updated_at": now,
        }
        expires_at = next_expiry(record.expires_at, expires_at, now)
        if expires_at == record.expires_at:
            result = connection.execute(_UPDATE_KEEPING_EXPIRY, parameters)
        else:
            parameters["p_expires_at"] = expires_at
            result = connection.execute(_UPDATE, parameters)
        if result.rowcount != 1:
            return False
    record.version += 1
    record.expires_at = expires_at
    return True


# The asynchronous entry points run the synchronous bodies in one greenlet (``run_sync``):
# SQLAlchemy's asyncio layer costs a greenlet and several driver hand-overs per call it
# proxies, far more than the statement itself on SQLite (docs/performance.md, session 7).
async def load(connection: AsyncConnection, chat_id: int, user_id: int) -> ConversationRecord:
    """The conversation of ``user_id`` in ``chat_id``, or a new empty one (not yet stored)."""
    return await connection.run_sync(read, chat_id, user_id)


async def save(
    connection: AsyncConnection, record: ConversationRecord, *, expires_at: datetime, now: datetime
) -> bool:
    """Store ``record`` if nobody changed it since it was read; bump its version (in the
    caller's transaction).

    Returns ``False`` (and stores nothing) when another writer got there first.
    """
    return await connection.run_sync(write, record, expires_at=expires_at, now=now)


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
