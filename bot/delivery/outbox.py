"""The ``deliveries`` table used as a durable queue.

Writers add rows inside their own transaction (:func:`enqueue_notice`, and the reminder and
broadcast modules). Dispatchers:

1. :func:`claim_due` atomically moves up to ``limit`` due rows to ``sending`` with a lease
   (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL; the
   same single statement on SQLite, where the database's one writer makes it atomic). A row whose
   lease expired (its dispatcher died) is due again: the claim sets ``next_attempt_at`` to the
   lease's end, so one index finds both.
2. send the messages;
3. :func:`record_results` writes each outcome back, only where the lease is still theirs.

A message is therefore never lost, and sent twice only if a process dies between Telegram's
answer and the commit of step 3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.delivery_models import (
    OPEN_STATUSES,
    PRIORITY_NOTICE,
    BlockedChat,
    Delivery,
)

deliveries = cast(Table, Delivery.__table__)
blocked_chats = cast(Table, BlockedChat.__table__)


def dialect_name(session: AsyncSession) -> str:
    """``sqlite`` or ``postgresql``."""
    return session.get_bind().dialect.name


@dataclass(frozen=True)
class Claimed:
    """A row a dispatcher holds the lease of."""

    id: int
    kind: str
    priority: int
    business_id: int
    user_id: int
    chat_id: int
    booking_id: int | None
    broadcast_id: int | None
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Result:
    """The outcome of one claimed row. ``status`` ``pending`` means "try again at
    ``retry_at``"; anything else is final."""

    id: int
    status: str
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    #: set with status ``blocked``: the chat to remember as blocked
    chat_id: int | None = None


def enqueue_notice(
    session: AsyncSession,
    *,
    business_id: int,
    user_id: int,
    chat_id: int,
    text: str,
    now: datetime,
    booking_id: int | None = None,
) -> Delivery:
    """Owe ``chat_id`` a plain text message (e.g. "your booking was moved"). Call inside the
    transaction that records the event, so the message exists if and only if the event does."""
    row = Delivery(
        kind="notice",
        priority=PRIORITY_NOTICE,
        business_id=business_id,
        user_id=user_id,
        chat_id=chat_id,
        booking_id=booking_id,
        payload={"text": text},
        status="pending",
        attempts=0,
        due_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due rows, most urgent priority first. Commit right after."""
    due = (
        select(deliveries.c.id)
        .where(deliveries.c.status.in_(OPEN_STATUSES), deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.priority, deliveries.c.next_attempt_at)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        # Two dispatchers never wait for, nor take, each other's rows.
        due = due.with_for_update(skip_locked=True)
    until = now + lease
    stmt = (
        update(deliveries)
        .where(deliveries.c.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
            lease_owner=owner,
            lease_until=until,
            next_attempt_at=until,
            attempts=deliveries.c.attempts + 1,
        )
        .returning(
            deliveries.c.id,
            deliveries.c.kind,
            deliveries.c.priority,
            deliveries.c.business_id,
            deliveries.c.user_id,
            deliveries.c.chat_id,
            deliveries.c.booking_id,
            deliveries.c.broadcast_id,
            deliveries.c.payload,
            deliveries.c.attempts,
        )
    )
    rows = (await session.execute(stmt)).all()
    claimed = [Claimed(*row) for row in rows]
    claimed.sort(key=lambda c: (c.priority, c.id))
    return claimed


async def renew_leases(
    session: AsyncSession, *, owner: str, ids: Sequence[int], until: datetime
) -> int:
    """Extend the lease of the rows in ``ids`` still held by ``owner``; return how many."""
    total = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        result = await session.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(chunk),
                deliveries.c.lease_owner == owner,
                deliveries.c.status == "sending",
            )
            .values(lease_until=until, next_attempt_at=until)
        )
        total += int(getattr(result, "rowcount", 0) or 0)
    return total


_RESULT = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.lease_owner == bindparam("b_owner"),
        deliveries.c.status == "sending",
    )
    .values(
        status=bindparam("b_status"),
        telegram_message_id=bindparam("b_message_id"),
        sent_at=bindparam("b_sent_at"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        lease_owner=None,
        lease_until=None,
    )
)


async def record_results(
    session: AsyncSession, *, owner: str, results: Iterable[Result], now: datetime
) -> None:
    """Write outcomes back (one executemany), only for rows ``owner`` still holds."""
    params: list[dict[str, Any]] = []
    for r in results:
        params.append(
            {
                "b_id": r.id,
                "b_owner": owner,
                "b_status": r.status,
                "b_message_id": r.message_id,
                "b_sent_at": now if r.status == "sent" else None,
                "b_error": r.error[:1000] if r.error else None,
                "b_next": r.retry_at or now,
            }
        )
    if not params:
        return
    await session.execute(_RESULT, params)


async def mark_blocked(
    session: AsyncSession, chat_ids: dict[int, str | None], now: datetime
) -> None:
    """Remember that these chats blocked the bot (idempotent)."""
    if not chat_ids:
        return
    rows = [{"chat_id": c, "blocked_at": now, "error": e} for c, e in chat_ids.items()]
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    await session.execute(insert(blocked_chats).values(rows).on_conflict_do_nothing())


async def unblock(session: AsyncSession, chat_id: int) -> None:
    """The user is back (``/start``, or Telegram reported an unblock): deliver again."""
    await session.execute(delete(blocked_chats).where(blocked_chats.c.chat_id == chat_id))
