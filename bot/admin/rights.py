"""Who may administer which business: read from the ``admins`` table on the server for every
admin action, never taken from the client. The table is synchronised at start-up from the
configuration (``owners``: every business; a business's ``admins``: that one)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Admin, Business


async def admin_scope(session: AsyncSession, user_id: int) -> set[int] | None:
    """Business ids ``user_id`` administers: ``None`` means every business (an owner); an
    empty set means none."""
    rows = (await session.execute(select(Admin.business_id).where(Admin.user_id == user_id))).all()
    ids: set[int] = set()
    for (business_id,) in rows:
        if business_id is None:
            return None
        ids.add(business_id)
    return ids


async def may_administer(session: AsyncSession, user_id: int, business_id: int) -> bool:
    scope = await admin_scope(session, user_id)
    return scope is None or business_id in scope


async def administered(session: AsyncSession, user_id: int) -> list[Business]:
    """The businesses ``user_id`` administers, by name."""
    scope = await admin_scope(session, user_id)
    query = select(Business).order_by(Business.name)
    if scope is not None:
        if not scope:
            return []
        query = query.where(Business.id.in_(scope))
    return list(await session.scalars(query))
