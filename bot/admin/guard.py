"""The one refusal of the business side: someone without the role gets exactly what an
unknown command gets (the engine's answer to it), so the admin commands' existence is not
revealed; and the role, read on the server, says who may use which command."""

from __future__ import annotations

from bot.admin.rights import Roles, roles_of
from bot.commands import audience_of
from bot.engine.commands import unknown_command
from bot.engine.turn import Turn


async def refuse(turn: Turn, command: str, argument: str = "") -> None:
    """Answer as for an unknown command."""
    await unknown_command(turn)


def allowed(roles: Roles, command: str) -> bool:
    """Whether ``roles`` reach the command's audience (somewhere; which business the command
    touches is checked by the command itself)."""
    audience = audience_of(command)
    level = roles.level
    if audience == "owners":
        return level == "owner"
    if audience == "admins":
        return level in ("owner", "admin")
    if audience == "staff":
        return level is not None
    return audience == "everyone"


async def roles_for(turn: Turn, command: str, argument: str) -> Roles | None:
    """The caller's roles if they may use ``command``; else ``None``, after answering as for an
    unknown command."""
    async with turn.services.sessions() as session:
        roles = await roles_of(session, turn.event.user_id)
    if allowed(roles, command):
        return roles
    await refuse(turn, command, argument)
    return None
