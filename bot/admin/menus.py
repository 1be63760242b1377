"""Each user's command menu follows their roles: the everyone's commands, plus those of their
highest role (:func:`bot.commands.menu`), set for their private chat with
``set_my_commands`` and a chat scope. Set at start-up for everyone with a role, and again in
the reply of the command that changed a role (:attr:`bot.engine.types.Reply.command_menus`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin.rights import roles_of
from bot.commands import menu
from bot.engine.turn import Turn
from bot.i18n import gettext, pick_language
from storage.models import Admin, User

Menu = tuple[str, list[tuple[str, str]]]


def menu_in(level: str | None, language: str) -> Menu:
    return language, [(c.name, gettext(language, c.description)) for c in menu(level)]


async def menu_of(session: AsyncSession, user_id: int, default_language: str) -> Menu:
    """The menu ``user_id``'s roles give them now, in their language."""
    roles = await roles_of(session, user_id)
    user = await session.get(User, user_id)
    language = pick_language(
        user.language if user else None,
        user.telegram_language if user else None,
        default_language,
    )
    return menu_in(roles.level, language)


async def refresh(turn: Turn, session: AsyncSession, user_id: int) -> None:
    """Set ``user_id``'s menu with this turn's reply (their roles just changed)."""
    default = turn.services.config.default_language
    turn.command_menus[user_id] = await menu_of(session, user_id, default)


async def menus_with_roles(session: AsyncSession, default_language: str) -> dict[int, Menu]:
    """The menu of everyone who has a role (for start-up)."""
    users = set(await session.scalars(select(Admin.user_id).distinct()))
    return {user_id: await menu_of(session, user_id, default_language) for user_id in users}
