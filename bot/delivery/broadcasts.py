"""Broadcasts: who receives them, writing their deliveries, progress and the final report.

The audience is always computed in SQL from one business's own customers (users with a
booking or a fiche at that business), so a broadcast can never reach another business's
customers, and its deliveries are written with one ``INSERT ... SELECT``: memory stays flat
however many recipients there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Select, and_, exists, func, literal, not_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.delivery import texts
from bot.delivery.outbox import deliveries, dialect_name, enqueue_notice
from bot.delivery.preferences import is_customer, wants_news
from storage.delivery_models import (
    OPEN_STATUSES,
    PRIORITY_BROADCAST,
    BlockedChat,
    Broadcast,
    Delivery,
)
from storage.models import Booking, Business, User


@dataclass(frozen=True)
class Counts:
    """Where a broadcast's deliveries stand."""

    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    open: int


def parse_range(value: str) -> tuple[date, date] | None:
    """``"2026-12-01 2026-12-31"`` -> the two dates (in order), or ``None``."""
    parts = value.replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        first, last = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
    except ValueError:
        return None
    return (first, last) if first <= last else (last, first)


def audience_query(business: Business, audience: dict[str, Any]) -> Select[Any]:
    """User ids of the business's customers matching ``audience`` who said yes to its news
    and have not blocked the bot."""
    business_id = business.id
    if audience.get("kind") == "range":
        zone = ZoneInfo(business.timezone)
        first = datetime.combine(date.fromisoformat(audience["from"]), time(), zone)
        after = datetime.combine(
            date.fromisoformat(audience["to"]) + timedelta(days=1), time(), zone
        )
        wanted: ColumnElement[bool] = exists().where(
            and_(
                Booking.user_id == User.id,
                Booking.business_id == business_id,
                Booking.status != "cancelled",
                Booking.start_at >= first,
                Booking.start_at < after,
            )
        )
    else:
        wanted = is_customer(User.__table__.c.id, business_id)
    # A private chat's id is the user's id.
    blocked = exists().where(BlockedChat.chat_id == User.id)
    return select(User.id).where(
        wanted, wants_news(User.__table__.c.id, business_id), not_(blocked)
    )


async def count_audience(
    session: AsyncSession, business: Business, audience: dict[str, Any]
) -> int:
    query = audience_query(business, audience).subquery()
    return int(await session.scalar(select(func.count()).select_from(query)) or 0)


async def start_broadcast(session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
    """Turn a confirmed draft into deliveries (inside the caller's transaction). Returns the
    number of recipients, or -1 when the draft was already started or discarded (a second tap
    on "Send" does nothing)."""
    claimed = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == "draft")
        .values(status="sending", step="done", confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        return -1
    business = await session.get(Business, broadcast.business_id)
    assert business is not None
    users = audience_query(business, broadcast.audience).subquery()
    payload: Any = literal({}, JSON)
    if dialect_name(session) == "postgresql":
        payload = literal({}, postgresql.JSON)
    rows = select(
        literal("broadcast"),
        literal(PRIORITY_BROADCAST),
        literal(broadcast.business_id),
        users.c.id,
        users.c.id,
        literal(broadcast.id),
        payload,
        literal("pending"),
        literal(0),
        literal(now, deliveries.c.due_at.type),
        literal(now, deliveries.c.next_attempt_at.type),
    )
    columns = [
        "kind",
        "priority",
        "business_id",
        "user_id",
        "chat_id",
        "broadcast_id",
        "payload",
        "status",
        "attempts",
        "due_at",
        "next_attempt_at",
    ]
    await session.execute(deliveries.insert().from_select(columns, rows, include_defaults=False))
    total = int(
        await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.broadcast_id == broadcast.id)
        )
        or 0
    )
    broadcast.status = "sending"
    broadcast.step = "done"
    broadcast.confirmed_at = now
    broadcast.total = total
    return total


async def counts(session: AsyncSession, broadcast_id: int) -> Counts:
    rows = (
        await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.broadcast_id == broadcast_id)
            .group_by(Delivery.status)
        )
    ).all()
    by_status = {status: int(n) for status, n in rows}
    return Counts(
        total=sum(by_status.values()),
        sent=by_status.get("sent", 0),
        failed=by_status.get("failed", 0),
        blocked=by_status.get("blocked", 0),
        skipped=by_status.get("skipped", 0) + by_status.get("cancelled", 0),
        open=sum(by_status.get(s, 0) for s in OPEN_STATUSES),
    )


async def admin_language(session: AsyncSession, user_id: int) -> str:
    user = await session.get(User, user_id)
    return texts.language_of(user.language, user.telegram_language) if user else "en"


def progress_text(language: str, c: Counts) -> str:
    return texts._(
        language,
        texts.BROADCAST_PROGRESS,
        sent=f"{c.sent:,}",
        total=f"{c.total:,}",
        failed=f"{c.failed:,}",
        blocked=f"{c.blocked:,}",
    )


async def cancel_broadcast(session: AsyncSession, broadcast: Broadcast, now: datetime) -> Counts:
    """Stop a broadcast: its unsent deliveries are cancelled (those already handed to
    Telegram may still arrive)."""
    await session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast.id, Delivery.status == "pending")
        .values(status="cancelled", last_error="broadcast cancelled")
        .execution_options(synchronize_session=False)
    )
    broadcast.status = "cancelled"
    broadcast.finished_at = now
    return await counts(session, broadcast.id)


async def finish_if_done(
    session: AsyncSession, broadcast: Broadcast, now: datetime, known: Counts | None = None
) -> Counts | None:
    """When no delivery is left open, mark the broadcast done and owe the admin the final
    report (an outbox row, so it survives a crash too). Exactly one dispatcher wins.
    ``known``: the broadcast's counts, already read in this transaction."""
    c = known or await counts(session, broadcast.id)
    if c.open:
        return None
    done = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == "sending")
        .values(status="done", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(done, "rowcount", 0) or 0) != 1:
        return None
    language = await admin_language(session, broadcast.created_by)
    report = texts._(
        language,
        texts.BROADCAST_REPORT,
        sent=f"{c.sent:,}",
        total=f"{c.total:,}",
        failed=f"{c.failed:,}",
        blocked=f"{c.blocked:,}",
        skipped=f"{c.skipped:,}",
    )
    enqueue_notice(
        session,
        business_id=broadcast.business_id,
        user_id=broadcast.created_by,
        chat_id=broadcast.admin_chat_id,
        text=report,
        now=now,
    )
    return c
