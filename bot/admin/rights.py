"""Who may do what for which business: read from the ``admins`` table on the server for every
admin action, never taken from the client.

Three roles (:class:`storage.models.Admin`): an **owner** (every business; from the
configuration's ``owners``), a business **admin** (the configuration's ``admins`` of a business,
or granted by an owner with ``/grant``) and a **staff** member (granted, linked to a staff
member of the business's calendar: their own schedule only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import Admin, Business

#: Roles /grant may give (owners come from the configuration only).
GRANTABLE = ("admin", "staff")


@dataclass(frozen=True)
class Roles:
    """Everything one user may do, read in one query."""

    user_id: int
    owner: bool = False
    #: businesses they administer (besides every business, for an owner)
    admin_of: frozenset[int] = frozenset()
    #: business id -> the staff member whose schedule is theirs
    staff_of: dict[int, str] = field(default_factory=dict)

    def administers(self, business_id: int) -> bool:
        return self.owner or business_id in self.admin_of

    def sees_schedule_of(self, business_id: int) -> bool:
        """Whether they may see ``business_id``'s schedule (all of it, or their own part)."""
        return self.administers(business_id) or business_id in self.staff_of

    def staff_filter(self, business_id: int) -> str | None:
        """The staff member to restrict ``business_id``'s schedule to (``None``: all of it)."""
        return None if self.administers(business_id) else self.staff_of.get(business_id)

    @property
    def level(self) -> str | None:
        """The highest role they hold anywhere: ``owner``, ``admin``, ``staff`` or ``None``."""
        if self.owner:
            return "owner"
        if self.admin_of:
            return "admin"
        return "staff" if self.staff_of else None


async def roles_of(db: AsyncSession | AsyncConnection, user_id: int) -> Roles:
    rows = await db.execute(
        select(Admin.business_id, Admin.role, Admin.staff_name).where(Admin.user_id == user_id)
    )
    owner = False
    admin_of: set[int] = set()
    staff_of: dict[int, str] = {}
    for business_id, role, staff_name in rows:
        if business_id is None:
            owner = owner or role == "owner"
        elif role == "staff":
            staff_of[business_id] = staff_name or ""
        else:
            admin_of.add(business_id)
    return Roles(user_id, owner, frozenset(admin_of), staff_of)


async def admin_scope(session: AsyncSession, user_id: int) -> set[int] | None:
    """Business ids ``user_id`` administers: ``None`` means every business (an owner); an
    empty set means none. Staff do not administer."""
    roles = await roles_of(session, user_id)
    return None if roles.owner else set(roles.admin_of)


async def may_administer(session: AsyncSession, user_id: int, business_id: int) -> bool:
    return (await roles_of(session, user_id)).administers(business_id)


async def administered(session: AsyncSession, user_id: int) -> list[Business]:
    """The businesses ``user_id`` administers, by name."""
    return await _businesses(session, await admin_scope(session, user_id))


async def with_schedule(session: AsyncSession, roles: Roles) -> list[Business]:
    """The businesses whose schedule ``roles`` may see, by name."""
    if roles.owner:
        return await _businesses(session, None)
    return await _businesses(session, set(roles.admin_of) | set(roles.staff_of))


async def _businesses(session: AsyncSession, scope: set[int] | None) -> list[Business]:
    query = select(Business).order_by(Business.name)
    if scope is not None:
        if not scope:
            return []
        query = query.where(Business.id.in_(scope))
    return list(await session.scalars(query))
