"""The people a user books for at a business ("me", "my daughter"), kept for next time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Fiche, User


async def for_user(session: AsyncSession, user_id: int, business_id: int) -> list[Fiche]:
    return list(
        await session.scalars(
            select(Fiche)
            .where(Fiche.user_id == user_id, Fiche.business_id == business_id)
            .order_by(Fiche.id)
        )
    )


async def ensure_user(
    session: AsyncSession, user_id: int, first_name: str, telegram_language: str | None
) -> User:
    user = await session.get(User, user_id)
    if user is None:
        user = User(id=user_id, first_name=first_name[:200], telegram_language=telegram_language)
        session.add(user)
        await session.flush()
    return user


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
    fiche.first_name = details.get("first_name", fiche.first_name or "")
    fiche.last_name = details.get("last_name", fiche.last_name or "")
    fiche.phone = details.get("phone") or fiche.phone
    fiche.email = details.get("email") or fiche.email
    birth = details.get("birth_date")
    fiche.birth_date = date.fromisoformat(birth) if birth else fiche.birth_date
    fiche.personal_id = details.get("personal_id") or fiche.personal_id
    fiche.address = details.get("address") or fiche.address
    if provider_ref:
        fiche.provider_ref = provider_ref
    await session.flush()
    return fiche


async def delete_owned(session: AsyncSession, fiche_id: int, user_id: int) -> bool:
    """Delete a stored person if it belongs to ``user_id``; bookings made for it stay (their
    ``fiche_id`` becomes null)."""
    fiche = await session.get(Fiche, fiche_id)
    if fiche is None or fiche.user_id != user_id:
        return False
    await session.delete(fiche)
    await session.flush()
    return True


async def all_for_user(session: AsyncSession, user_id: int) -> list[Fiche]:
    return list(
        await session.scalars(select(Fiche).where(Fiche.user_id == user_id).order_by(Fiche.id))
    )


def fiche_details(fiche: Fiche) -> dict[str, str]:
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
