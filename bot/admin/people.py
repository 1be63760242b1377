"""Naming a user in an admin command: their Telegram id, their @username (known once they
have started the bot: ``users.username``), or a message of theirs forwarded to the bot."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.types import Event
from storage.models import User

_ID = re.compile(r"^\d{1,15}$")
_USERNAME = re.compile(r"^@([A-Za-z0-9_]{4,32})$")


def looks_like_user(text: str) -> bool:
    """Whether ``text`` is written as a user (an id or an @username), known or not."""
    return bool(_ID.match(text) or _USERNAME.match(text))


async def find_user(session: AsyncSession, text: str) -> int | None:
    """The user ``text`` names (``"123"``, ``"@anna"``), or ``None`` for an unknown username
    or anything else."""
    text = text.strip()
    if _ID.match(text):
        return int(text)
    match = _USERNAME.match(text)
    if match is None:
        return None
    found = await session.scalar(
        select(User.id).where(User.username == match.group(1).lower()).limit(1)
    )
    return int(found) if found is not None else None


def forwarded_user(event: Event) -> int | None:
    """The author of a forwarded message, when Telegram tells (``None`` otherwise)."""
    return event.forward_user_id


def label(user_id: int, username: str | None = None) -> str:
    """How a user is named back to the owner."""
    return f"@{username} ({user_id})" if username else str(user_id)
