"""The people a user books for at a business ("me", "my daughter"), kept for next time, and the
users themselves: Core statements on the caller's connection, the same on SQLite and PostgreSQL.
Reads return :class:`FicheView`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import by_dialect, connected
from storage.models import Fiche, User
from storage.writes import BookingChange, Database, Write

_fiches = cast(Table, Fiche.__table__)
_users = cast(Table, User.__table__)

#: The fields a booking's details may change.
_MERGED = (
    "first_name",
    "last_name",
    "phone",
    "email",
    "birth_date",
    "personal_id",
    "address",
    "provider_ref",
)


@dataclass(frozen=True, slots=True)
class FicheView:
    """A stored person as read; read-only, detached from any session."""

    id: int
    user_id: int
    business_id: int
    provider_ref: str | None
    label: str
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    birth_date: date | None
    personal_id: str | None
    address: str | None


_VIEW = [_fiches.c[name] for name in FicheView.__dataclass_fields__]


# -- reads ------------------------------------------------------------------------------------
_ALL_FOR_USER = (
    select(*_VIEW).where(_fiches.c.user_id == bindparam("p_user")).order_by(_fiches.c.id)
)
_FOR_USER = _ALL_FOR_USER.where(_fiches.c.business_id == bindparam("p_business"))


async def for_user(db: Database, user_id: int, business_id: int) -> list[FicheView]:
    """The people ``user_id`` stored for ``business_id``, oldest first."""
    async with connected(db.autocommit_engine) as connection:
        rows = await connection.execute(_FOR_USER, {"p_user": user_id, "p_business": business_id})
        return [FicheView(*row) for row in rows]


async def all_for_user(db: Database, user_id: int) -> list[FicheView]:
    """The people ``user_id`` stored, at every business, oldest first."""
    async with connected(db.autocommit_engine) as connection:
        rows = await connection.execute(_ALL_FOR_USER, {"p_user": user_id})
        return [FicheView(*row) for row in rows]


# -- users ------------------------------------------------------------------------------------
#: A user row is created with what Telegram tells us and never overwritten here: created_at
#: and language are left to the schema (server default, null).
_ENSURE_USER = by_dialect(
    lambda insert: insert(_users).on_conflict_do_nothing(index_elements=[_users.c.id])
)
_SET_LANGUAGE = (
    update(_users).where(_users.c.id == bindparam("p_user")).values(language=bindparam("p_lang"))
)
_SET_USERNAME = (
    update(_users).where(_users.c.id == bindparam("p_user")).values(username=bindparam("p_name"))
)


async def ensure_user(
    connection: AsyncConnection, user_id: int, first_name: str, telegram_language: str | None
) -> None:
    """The user row of ``user_id``, created if missing (in the caller's transaction)."""
    await connection.execute(
        _ENSURE_USER[connection.dialect.name],
        {"id": user_id, "first_name": first_name[:200], "telegram_language": telegram_language},
    )


async def set_language(
    connection: AsyncConnection,
    user_id: int,
    first_name: str,
    telegram_language: str | None,
    language: str,
) -> None:
    """Remember the language chosen with /language (it outlives the conversation)."""
    await ensure_user(connection, user_id, first_name, telegram_language)
    await connection.execute(_SET_LANGUAGE, {"p_user": user_id, "p_lang": language})


def remember_user(
    user_id: int, first_name: str, telegram_language: str | None, username: str | None = None
) -> Write:
    """The write of /start: the user's row, if they have none yet, and their @username (so
    an owner can name them to /grant or /block)."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        await ensure_user(connection, user_id, first_name, telegram_language)
        await connection.execute(_SET_USERNAME, {"p_user": user_id, "p_name": username})
        return None

    return write


def choose_language(
    user_id: int, first_name: str, telegram_language: str | None, language: str
) -> Write:
    """The write of /language."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        await set_language(connection, user_id, first_name, telegram_language, language)
        return None

    return write


# -- fiches -----------------------------------------------------------------------------------
def merged_details(
    current: Mapping[str, Any], details: Mapping[str, str], provider_ref: str | None
) -> dict[str, Any]:
    """A fiche's :data:`_MERGED` fields after a booking made with ``details``: a name typed
    replaces the stored one, other fields keep their stored value when left empty.
    ``current`` is the stored fiche's fields (empty for a new one)."""
    birth = details.get("birth_date")
    return {
        "first_name": details.get("first_name", current.get("first_name") or ""),
        "last_name": details.get("last_name", current.get("last_name") or ""),
        "phone": details.get("phone") or current.get("phone"),
        "email": details.get("email") or current.get("email"),
        "birth_date": date.fromisoformat(birth) if birth else current.get("birth_date"),
        "personal_id": details.get("personal_id") or current.get("personal_id"),
        "address": details.get("address") or current.get("address"),
        "provider_ref": provider_ref or current.get("provider_ref"),
    }


_STORED = select(
    _fiches.c.user_id, _fiches.c.business_id, _fiches.c.label, *(_fiches.c[n] for n in _MERGED)
).where(_fiches.c.id == bindparam("p_id"))
_INSERT_FICHE = insert(_fiches).returning(_fiches.c.id)
_UPDATE_FICHE = update(_fiches).where(_fiches.c.id == bindparam("p_id"))


async def save_details(
    connection: AsyncConnection,
    *,
    user_id: int,
    business_id: int,
    fiche_id: int | None,
    label: str,
    details: dict[str, str],
    provider_ref: str | None,
) -> FicheView:
    """Create or update the fiche the booking was made for; the caller owns the transaction.
    A ``fiche_id`` of another user or business is never written: a new fiche is made."""
    stored = None
    if fiche_id is not None:
        stored = (await connection.execute(_STORED, {"p_id": fiche_id})).first()
        if stored is not None and (stored.user_id != user_id or stored.business_id != business_id):
            stored = None  # never write to someone else's record
    if stored is None:
        label = label or ""
        merged = merged_details({}, details, provider_ref)
        result = await connection.execute(
            _INSERT_FICHE,
            {"user_id": user_id, "business_id": business_id, "label": label, **merged},
        )
        fiche_id = int(result.scalar_one())
    else:
        assert fiche_id is not None
        label = stored.label
        current = dict(zip(_MERGED, stored[3:], strict=True))
        merged = merged_details(current, details, provider_ref)
        await connection.execute(_UPDATE_FICHE, {"p_id": fiche_id, **merged})
    return FicheView(id=fiche_id, user_id=user_id, business_id=business_id, label=label, **merged)


_DELETE_OWNED = delete(_fiches).where(
    _fiches.c.id == bindparam("p_id"), _fiches.c.user_id == bindparam("p_user")
)


async def delete_owned(connection: AsyncConnection, fiche_id: int, user_id: int) -> bool:
    """Delete a stored person if it belongs to ``user_id``; bookings made for it stay (the
    schema's ``ON DELETE SET NULL`` makes their ``fiche_id`` null)."""
    result = await connection.execute(_DELETE_OWNED, {"p_id": fiche_id, "p_user": user_id})
    return result.rowcount == 1


def forget(fiche_id: int, user_id: int) -> Write:
    """The write of /mydetails' Delete: ownership is checked in the deleting transaction."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        await delete_owned(connection, fiche_id, user_id)
        return None

    return write


#: What /mydetails lets the user change in a stored person.
EDITABLE = ("first_name", "last_name", "phone", "email")


def update_field(fiche_id: int, user_id: int, field: str, value: str) -> Write:
    """The write of a /mydetails edit: one field of the user's own fiche (ownership is checked
    in the writing transaction)."""
    if field not in EDITABLE:
        raise ValueError(field)

    async def write(connection: AsyncConnection) -> BookingChange | None:
        await connection.execute(
            update(_fiches)
            .where(_fiches.c.id == fiche_id, _fiches.c.user_id == user_id)
            .values({field: value})
        )
        return None

    return write


def fiche_details(fiche: FicheView) -> dict[str, str]:
    """The details of a stored person, as the customer step keeps them (set fields only)."""
    values = {
        "first_name": fiche.first_name,
        "last_name": fiche.last_name,
        "phone": fiche.phone,
        "email": fiche.email,
        "birth_date": fiche.birth_date.isoformat() if fiche.birth_date else None,
        "personal_id": fiche.personal_id,
        "address": fiche.address,
    }
    return {k: v for k, v in values.items() if v}
