"""Owners manage who may do what: ``/grant``, ``/revoke``, ``/block``, ``/unblock`` and
``/audit``, a feature on the engine (:mod:`bot.engine.features`).

Every one of them reads the caller's roles on the server first (:mod:`bot.admin.guard`);
every change is written with its audit entry in one transaction (:mod:`storage.audit`), and a
change of role sets the user's command menu in the reply (:mod:`bot.admin.menus`).
``/grant <business> [role]`` without a user waits for a forwarded message of theirs (the
conversation state's ``admin`` part).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import menus, texts
from bot.admin.guard import allowed, refuse, roles_for
from bot.admin.people import find_user, forwarded_user, looks_like_user
from bot.admin.rights import GRANTABLE, roles_of
from bot.engine.features import Feature
from bot.engine.turn import MenuButton, Turn
from storage import audit
from storage.admin_models import BlockedUser
from storage.models import Admin, Business, Conversation, LocalStaff

if TYPE_CHECKING:
    from bot.engine.engine import Engine

AUDIT_PAGE = 10


class AccessControl(Feature):
    prefix: ClassVar[str] = "r"
    commands: ClassVar[tuple[str, ...]] = ("grant", "revoke", "block", "unblock", "audit")

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if await roles_for(turn, command, argument) is None:
            return
        turn.state.admin = None
        words = argument.split()
        if command == "audit":
            await _audit_page(turn, 0)
        elif command in ("block", "unblock"):
            await _block(turn, command, words)
        elif command == "revoke":
            await _revoke(turn, words)
        elif words and not looks_like_user(words[0]):
            # /grant <business> [role]: the user comes as a forwarded message
            turn.state.admin = {"await": "grant", "args": words}
            turn.show(turn.t(texts.ASK_FORWARD))
        else:
            await _grant(turn, words)

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        kind, _, offset = action.partition(":")
        if kind != "audit" or not offset.isdigit():
            turn.alert = turn.t("This menu has expired.")
            return
        # the menu was offered to an owner; the role is read again at the tap
        async with turn.services.sessions() as session:
            roles = await roles_of(session, turn.event.user_id)
        if allowed(roles, "audit"):
            await _audit_page(turn, int(offset))
        else:
            turn.alert = turn.t("This menu has expired.")

    def takes_text(self, turn: Turn) -> bool:
        waiting = turn.state.admin
        return waiting is not None and waiting.get("await") == "grant"

    async def on_text(self, engine: Engine, turn: Turn, text: str) -> None:
        waiting = turn.state.admin or {}
        turn.state.admin = None
        if await roles_for(turn, "grant", "") is None:
            return
        user_id = forwarded_user(turn.event)
        if user_id is None and turn.event.text and not looks_like_user(text.strip()):
            turn.show(turn.t(texts.NO_FORWARD_ID))
            turn.state.admin = waiting  # still waiting: the owner keeps their step
            return
        words = [str(user_id) if user_id is not None else text.strip(), *waiting.get("args", [])]
        await _grant(turn, words)


# -- /grant and /revoke ----------------------------------------------------------------------
async def _grant(turn: Turn, words: list[str]) -> None:
    if len(words) < 2:
        turn.show(turn.t(texts.GRANT_USAGE))
        return
    role = words[2].lower() if len(words) > 2 else "admin"
    staff = " ".join(words[3:]).strip()
    if role not in GRANTABLE or (role == "staff") != bool(staff):
        turn.show(turn.t(texts.BAD_ROLE) + "\n" + turn.t(texts.GRANT_USAGE))
        return
    async with turn.services.sessions() as session, session.begin():
        target = await _target(turn, session, words[0], words[1])
        if target is None:
            return
        user_id, business = target
        if role == "staff" and not await _staff_exists(session, business, staff):
            turn.show(turn.t(texts.UNKNOWN_STAFF, staff=staff, business=business.name))
            return
        row = await session.scalar(
            select(Admin).where(Admin.user_id == user_id, Admin.business_id == business.id)
        )
        if row is not None and row.granted_by is None:
            turn.show(turn.t(texts.FROM_CONFIG, user=user_id, business=business.name))
            return
        row = row or Admin(user_id=user_id, business_id=business.id)
        row.role, row.staff_name, row.granted_by = role, staff or None, turn.event.user_id
        session.add(row)
        detail: dict[str, Any] = {"user": user_id, "role": role}
        if staff:
            detail["staff"] = staff
        await _audit(turn, session, "grant", business.id, detail)
        await session.flush()
        await menus.refresh(turn, session, user_id)
    if staff:
        turn.show(turn.t(texts.GRANTED_STAFF, user=user_id, business=business.name, staff=staff))
    else:
        turn.show(turn.t(texts.GRANTED, user=user_id, role=role, business=business.name))


async def _revoke(turn: Turn, words: list[str]) -> None:
    if len(words) != 2:
        turn.show(turn.t(texts.REVOKE_USAGE))
        return
    async with turn.services.sessions() as session, session.begin():
        target = await _target(turn, session, words[0], words[1])
        if target is None:
            return
        user_id, business = target
        row = await session.scalar(
            select(Admin).where(Admin.user_id == user_id, Admin.business_id == business.id)
        )
        if row is None:
            turn.show(turn.t(texts.NOTHING_TO_REVOKE, user=user_id, business=business.name))
            return
        if row.granted_by is None:
            turn.show(turn.t(texts.FROM_CONFIG, user=user_id, business=business.name))
            return
        await session.delete(row)
        await _audit(turn, session, "revoke", business.id, {"user": user_id, "role": row.role})
        await session.flush()
        await menus.refresh(turn, session, user_id)
    turn.show(turn.t(texts.REVOKED, user=user_id, business=business.name))


async def _target(
    turn: Turn, session: AsyncSession, who: str, slug: str
) -> tuple[int, Business] | None:
    """The user and the business a command names, or ``None`` after saying which is wrong."""
    user_id = await find_user(session, who)
    if user_id is None:
        turn.show(turn.t(texts.UNKNOWN_USER))
        return None
    business = await session.scalar(select(Business).where(Business.slug == slug))
    if business is None:
        turn.show(turn.t(texts.UNKNOWN_BUSINESS, business=slug))
        return None
    return user_id, business


async def _staff_exists(session: AsyncSession, business: Business, name: str) -> bool:
    """Whether ``name`` is a staff member of ``business``'s calendar. Only the local calendar
    lists its staff here; a platform's are taken as the owner writes them (as bookings name
    them)."""
    if business.provider_kind != "local":
        return True
    found = await session.scalar(
        select(LocalStaff.id).where(LocalStaff.business_id == business.id, LocalStaff.name == name)
    )
    return found is not None


# -- /block and /unblock ---------------------------------------------------------------------
async def _block(turn: Turn, command: str, words: list[str]) -> None:
    if len(words) != 1:
        turn.show(turn.t(texts.BLOCK_USAGE))
        return
    async with turn.services.sessions() as session, session.begin():
        user_id = await find_user(session, words[0])
        if user_id is None:
            turn.show(turn.t(texts.UNKNOWN_USER))
            return
        row = await session.get(BlockedUser, user_id)
        if command == "unblock":
            if row is None:
                turn.show(turn.t(texts.NOT_BLOCKED, user=user_id))
                return
            await session.execute(delete(BlockedUser).where(BlockedUser.user_id == user_id))
            await _audit(turn, session, "unblock", None, {"user": user_id})
            turn.show(turn.t(texts.UNBLOCKED, user=user_id))
            return
        if (await roles_of(session, user_id)).owner or user_id in turn.services.config.owners:
            turn.show(turn.t(texts.NOT_BLOCKABLE))
            return
        if row is None:
            session.add(
                BlockedUser(user_id=user_id, blocked_by=turn.event.user_id, blocked_at=turn.now)
            )
            # Their next update finds no conversation, and a new one reads the block
            # (bot.engine.engine: the check costs the others nothing).
            await session.execute(delete(Conversation).where(Conversation.user_id == user_id))
            await _audit(turn, session, "block", None, {"user": user_id})
        turn.show(turn.t(texts.BLOCKED, user=user_id))


# -- /audit ----------------------------------------------------------------------------------
async def _audit_page(turn: Turn, offset: int) -> None:
    async with turn.services.sessions() as session, session.begin():
        entries = await audit.entries(session, limit=AUDIT_PAGE + 1, offset=offset)
        names = {b.id: b.name for b in await session.scalars(select(Business))}
        await _audit(turn, session, "audit", None, {"offset": offset})
    if not entries:
        turn.show(turn.t(texts.AUDIT_EMPTY))
        return
    lines = [turn.t(texts.AUDIT_HEADER)]
    for entry in entries[:AUDIT_PAGE]:
        lines.append(_entry_line(entry, names))
    buttons = []
    if offset:
        buttons.append(
            MenuButton(turn.t(texts.BUTTON_NEWER), f"r:audit:{max(0, offset - AUDIT_PAGE)}")
        )
    if len(entries) > AUDIT_PAGE:
        buttons.append(MenuButton(turn.t(texts.BUTTON_OLDER), f"r:audit:{offset + AUDIT_PAGE}"))
    turn.show("\n".join(lines), [buttons] if buttons else None)


def _entry_line(entry: audit.AuditView, names: dict[int, str]) -> str:
    when = entry.at.strftime("%Y-%m-%d %H:%M UTC")
    where = names.get(entry.business_id, str(entry.business_id)) if entry.business_id else "—"
    detail = " ".join(f"{key}={value}" for key, value in sorted(entry.detail.items()))
    return f"{when} · {entry.actor_id} · /{entry.action} · {where} · {detail}".rstrip(" ·")


async def _audit(
    turn: Turn, session: AsyncSession, action: str, business_id: int | None, detail: dict[str, Any]
) -> None:
    await audit.record(
        session,
        actor_id=turn.event.user_id,
        action=action,
        business_id=business_id,
        detail=detail,
        now=turn.now,
    )


__all__ = ["AccessControl", "refuse"]
