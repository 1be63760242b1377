"""The people a user books for at a business ("me", "my daughter"), kept for next time, and the
users themselves.

Each operation the bot runs on every booking has its SQLAlchemy form (PostgreSQL, and SQLite
without a fast lane) and its fast-lane form (``*_fast``, SQLite) side by side: same SQL, same
stored values, same ownership rules. Reads return :class:`FicheView` on both paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Fiche, User
from storage.sqlite_inline import Connection
from storage.writes import Database, Write

#: The fields a booking's details may change, in the order the lane's SQL lists them.
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
    """A stored person as read (either path); read-only, detached from any session."""

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

    @classmethod
    def of(cls, fiche: Fiche) -> FicheView:
        """The view of an ORM row."""
        return cls(*(getattr(fiche, name) for name in _VIEW_COLUMNS))

    @classmethod
    def from_lane(cls, row: Sequence[Any]) -> FicheView:
        """The view of a fast-lane row selected with :data:`_LANE_VIEW_COLUMNS`."""
        values = list(row)
        birth = values[_BIRTH_INDEX]
        values[_BIRTH_INDEX] = date.fromisoformat(birth) if birth else None
        return cls(*values)


_VIEW_COLUMNS = tuple(FicheView.__dataclass_fields__)
_BIRTH_INDEX = _VIEW_COLUMNS.index("birth_date")
_LANE_VIEW_COLUMNS = ", ".join(_VIEW_COLUMNS)


# -- reads ------------------------------------------------------------------------------------
_LANE_FOR_USER = (
    f"SELECT {_LANE_VIEW_COLUMNS} FROM fiches "  # noqa: S608 (column names, no input)
    "WHERE user_id = ? AND business_id = ? ORDER BY id"
)
_LANE_ALL_FOR_USER = f"SELECT {_LANE_VIEW_COLUMNS} FROM fiches WHERE user_id = ? ORDER BY id"  # noqa: S608


async def for_user(db: Database, user_id: int, business_id: int) -> list[FicheView]:
    """The people ``user_id`` stored for ``business_id``, oldest first."""
    lane = db.fastlane
    if lane is not None:
        rows = await lane.fetchall(_LANE_FOR_USER, (user_id, business_id))
        return [FicheView.from_lane(row) for row in rows]
    async with db.sessions() as session:
        found = await session.scalars(
            select(Fiche)
            .where(Fiche.user_id == user_id, Fiche.business_id == business_id)
            .order_by(Fiche.id)
        )
        return [FicheView.of(fiche) for fiche in found]


async def all_for_user(db: Database, user_id: int) -> list[FicheView]:
    """The people ``user_id`` stored, at every business, oldest first."""
    lane = db.fastlane
    if lane is not None:
        rows = await lane.fetchall(_LANE_ALL_FOR_USER, (user_id,))
        return [FicheView.from_lane(row) for row in rows]
    async with db.sessions() as session:
        found = await session.scalars(
            select(Fiche).where(Fiche.user_id == user_id).order_by(Fiche.id)
        )
        return [FicheView.of(fiche) for fiche in found]


# -- users ------------------------------------------------------------------------------------
# A user row is created with what Telegram tells us and never overwritten here: created_at and
# language are left to the schema (server default, null) on both paths.
_LANE_ENSURE_USER = (
    "INSERT INTO users (id, first_name, telegram_language) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
_LANE_SET_LANGUAGE = "UPDATE users SET language = ? WHERE id = ?"


async def ensure_user(
    session: AsyncSession, user_id: int, first_name: str, telegram_language: str | None
) -> User:
    """The user row of ``user_id``, created if missing."""
    user = await session.get(User, user_id)
    if user is None:
        user = User(id=user_id, first_name=first_name[:200], telegram_language=telegram_language)
        session.add(user)
        await session.flush()
    return user


async def ensure_user_fast(
    connection: Connection, user_id: int, first_name: str, telegram_language: str | None
) -> None:
    """:func:`ensure_user` on the fast lane (inside the caller's transaction)."""
    await connection.execute(_LANE_ENSURE_USER, (user_id, first_name[:200], telegram_language))


async def set_language(
    session: AsyncSession,
    user_id: int,
    first_name: str,
    telegram_language: str | None,
    language: str,
) -> None:
    """Remember the language chosen with /language (it outlives the conversation)."""
    await ensure_user(session, user_id, first_name, telegram_language)
    await session.execute(update(User).where(User.id == user_id).values(language=language))


async def set_language_fast(
    connection: Connection,
    user_id: int,
    first_name: str,
    telegram_language: str | None,
    language: str,
) -> None:
    """:func:`set_language` on the fast lane."""
    await ensure_user_fast(connection, user_id, first_name, telegram_language)
    await connection.execute(_LANE_SET_LANGUAGE, (language, user_id))


def remember_user(user_id: int, first_name: str, telegram_language: str | None) -> Write:
    """The write of /start: the user's row, if they have none yet."""

    async def on_session(session: AsyncSession) -> None:
        await ensure_user(session, user_id, first_name, telegram_language)

    async def on_lane(connection: Connection) -> None:
        await ensure_user_fast(connection, user_id, first_name, telegram_language)

    return Write(session=on_session, lane=on_lane)


def choose_language(
    user_id: int, first_name: str, telegram_language: str | None, language: str
) -> Write:
    """The write of /language."""

    async def on_session(session: AsyncSession) -> None:
        await set_language(session, user_id, first_name, telegram_language, language)

    async def on_lane(connection: Connection) -> None:
        await set_language_fast(connection, user_id, first_name, telegram_language, language)

    return Write(session=on_session, lane=on_lane)


# -- fiches -----------------------------------------------------------------------------------
def merged_details(
    current: Mapping[str, Any], details: Mapping[str, str], provider_ref: str | None
) -> dict[str, Any]:
    """A fiche's :data:`_MERGED` fields after a booking made with ``details``: a name typed
    replaces the stored one, other fields keep their stored value when left empty.
    ``current`` is the stored fiche's fields (empty for a new one). Both paths use this."""
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


async def save_details(
    session: AsyncSession,
    *,
    user_id: int,
    business_id: int,
    fiche_id: int | None,
    label: str,
    details: dict[str, str],
    provider_ref: str | None,
) -> Fiche:
    """Create or update the fiche the booking was made for; the caller owns the transaction."""
    fiche = None
    if fiche_id is not None:
        fiche = await session.get(Fiche, fiche_id)
        if fiche is not None and (fiche.user_id != user_id or fiche.business_id != business_id):
            fiche = None  # never write to someone else's record
    if fiche is None:
        fiche = Fiche(user_id=user_id, business_id=business_id, label=label or "")
        session.add(fiche)
    current = {name: getattr(fiche, name) for name in _MERGED}
    for name, value in merged_details(current, details, provider_ref).items():
        setattr(fiche, name, value)
    await session.flush()
    return fiche


_LANE_FICHE = f"SELECT user_id, business_id, label, {', '.join(_MERGED)} FROM fiches WHERE id = ?"  # noqa: S608
_LANE_INSERT_FICHE = (
    f"INSERT INTO fiches (user_id, business_id, label, {', '.join(_MERGED)}) "  # noqa: S608
    f"VALUES (?, ?, ?, {', '.join('?' * len(_MERGED))}) RETURNING id"
)
_LANE_UPDATE_FICHE = (
    f"UPDATE fiches SET {', '.join(f'{name} = ?' for name in _MERGED)} WHERE id = ?"  # noqa: S608
)


async def save_details_fast(
    connection: Connection,
    *,
    user_id: int,
    business_id: int,
    fiche_id: int | None,
    label: str,
    details: dict[str, str],
    provider_ref: str | None,
) -> FicheView:
    """:func:`save_details` on the fast lane, with the same ownership rule."""
    stored: tuple[Any, ...] | None = None
    if fiche_id is not None:
        cursor = await connection.execute(_LANE_FICHE, (fiche_id,))
        stored = await cursor.fetchone()
        await cursor.close()
        if stored is not None and (stored[0] != user_id or stored[1] != business_id):
            stored = None  # never write to someone else's record
    current: dict[str, Any] = {}
    if stored is not None:
        label = stored[2]
        current = dict(zip(_MERGED, stored[3:], strict=True))
        birth = current["birth_date"]
        current["birth_date"] = date.fromisoformat(birth) if birth else None
    else:
        label = label or ""
    merged = merged_details(current, details, provider_ref)
    values = [merged[name] for name in _MERGED]
    birth_index = _MERGED.index("birth_date")
    birth_date = values[birth_index]
    values[birth_index] = birth_date.isoformat() if birth_date else None  # as Date stores it
    if stored is None:
        cursor = await connection.execute(
            _LANE_INSERT_FICHE, (user_id, business_id, label, *values)
        )
        new_id: int = (await cursor.fetchone())[0]
        await cursor.close()
    else:
        assert fiche_id is not None
        new_id = fiche_id
        await connection.execute(_LANE_UPDATE_FICHE, (*values, new_id))
    return FicheView(id=new_id, user_id=user_id, business_id=business_id, label=label, **merged)


async def delete_owned(session: AsyncSession, fiche_id: int, user_id: int) -> bool:
    """Delete a stored person if it belongs to ``user_id``; bookings made for it stay (their
    ``fiche_id`` becomes null)."""
    fiche = await session.get(Fiche, fiche_id)
    if fiche is None or fiche.user_id != user_id:
        return False
    await session.delete(fiche)
    await session.flush()
    return True


async def delete_owned_fast(connection: Connection, fiche_id: int, user_id: int) -> bool:
    """:func:`delete_owned` on the fast lane (the schema's ``ON DELETE SET NULL`` unlinks the
    bookings, as on the other path)."""
    cursor = await connection.execute(
        "DELETE FROM fiches WHERE id = ? AND user_id = ?", (fiche_id, user_id)
    )
    deleted = cursor.rowcount == 1
    await cursor.close()
    return deleted


def forget(fiche_id: int, user_id: int) -> Write:
    """The write of /mydetails' Delete: ownership is checked in the deleting transaction."""

    async def on_session(session: AsyncSession) -> None:
        await delete_owned(session, fiche_id, user_id)

    async def on_lane(connection: Connection) -> None:
        await delete_owned_fast(connection, fiche_id, user_id)

    return Write(session=on_session, lane=on_lane)


def fiche_details(fiche: Fiche | FicheView) -> dict[str, str]:
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
