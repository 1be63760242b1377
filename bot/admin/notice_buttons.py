"""The buttons of the business's booking notices (:mod:`bot.delivery.notices`): Call shows
the customer's phone number (Telegram makes it tappable), Mute turns one kind of notice off
for that business; ``/notices`` turns each kind on or off again (engine tokens ``n:...``).
The dispatcher sent the notices, so their buttons' data is ``dn:...`` and comes
from the client: the booking and business it names, and the tapper's role for them, are read
on the server; anything else is answered "this menu has expired" and changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import texts
from bot.admin.guard import roles_for
from bot.admin.rights import Roles, roles_of, with_schedule
from bot.delivery.notices import CHANGES, NOTICE_PREFIX
from bot.engine.features import Feature
from bot.engine.turn import MenuButton, Turn
from storage import audit
from storage.admin_models import NoticeMute
from storage.models import Booking, Fiche

if TYPE_CHECKING:
    from bot.engine.engine import Engine

_KIND_LABELS = {
    "confirmed": texts.KIND_CONFIRMED,
    "moved": texts.KIND_MOVED,
    "cancelled": texts.KIND_CANCELLED,
}


def may_see(roles: Roles, booking: Booking) -> bool:
    """Admins see their businesses' bookings; staff only those of their own schedule."""
    if roles.administers(booking.business_id):
        return True
    staff = roles.staff_of.get(booking.business_id)
    return staff is not None and staff == booking.resource_name


class NoticeButtons(Feature):
    callback_prefix: ClassVar[str] = NOTICE_PREFIX
    prefix: ClassVar[str] = "n"
    commands: ClassVar[tuple[str, ...]] = ("notices",)

    async def on_callback(self, engine: Engine, turn: Turn, data: str) -> None:
        parts = data.split(":")
        async with turn.services.sessions() as session, session.begin():
            roles = await roles_of(session, turn.event.user_id)
            if len(parts) == 3 and parts[1] == "call" and parts[2].isdigit():
                done = await _call(turn, session, roles, int(parts[2]))
            elif (
                len(parts) == 4
                and parts[1] == "mute"
                and parts[2] in CHANGES
                and parts[3].isdigit()
            ):
                done = await _mute(turn, session, roles, parts[2], int(parts[3]))
            else:
                done = False
        if not done:
            turn.alert = turn.t("This menu has expired.")

    # -- /notices: which kinds of notice the user gets, toggled by business --------------------
    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        roles = await roles_for(turn, command, argument)
        if roles is not None:
            await _settings(turn, roles)

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        business, _, kind = action.partition(":")
        async with turn.services.sessions() as session, session.begin():
            roles = await roles_of(session, turn.event.user_id)
            allowed = business.isdigit() and kind in CHANGES
            if allowed and roles.sees_schedule_of(int(business)):
                await _toggle(turn, session, int(business), kind)
            else:
                allowed = False
        if not allowed:
            turn.alert = turn.t("This menu has expired.")
            return
        await _settings(turn, roles)


async def _toggle(turn: Turn, session: AsyncSession, business_id: int, kind: str) -> None:
    key = (turn.event.user_id, business_id, kind)
    row = await session.get(NoticeMute, key)
    if row is None:
        session.add(NoticeMute(user_id=key[0], business_id=business_id, kind=kind))
    else:
        await session.delete(row)
    await audit.record(
        session,
        actor_id=turn.event.user_id,
        action="unmute" if row is not None else "mute",
        business_id=business_id,
        detail={"kind": kind},
        now=turn.now,
    )


async def _settings(turn: Turn, roles: Roles) -> None:
    async with turn.services.sessions() as session:
        businesses = await with_schedule(session, roles)
        muted = {
            (m.business_id, m.kind)
            for m in await session.scalars(
                select(NoticeMute).where(NoticeMute.user_id == turn.event.user_id)
            )
        }
    rows = []
    for business in businesses:
        for kind in CHANGES:
            label = _KIND_LABELS[kind]
            state = texts.NOTICES_OFF if (business.id, kind) in muted else texts.NOTICES_ON
            text = turn.t(state, business=business.name, kind=turn.t(label))
            rows.append([MenuButton(text, f"n:{business.id}:{kind}")])
    turn.show(turn.t(texts.NOTICES_TITLE), rows)


async def _call(turn: Turn, session: AsyncSession, roles: Roles, booking_id: int) -> bool:
    booking = await session.get(Booking, booking_id)
    if booking is None or not may_see(roles, booking):
        return False
    phone = None
    if booking.fiche_id is not None:
        phone = await session.scalar(select(Fiche.phone).where(Fiche.id == booking.fiche_id))
    if not phone:
        return False
    await audit.record(
        session,
        actor_id=turn.event.user_id,
        action="call",
        business_id=booking.business_id,
        detail={"booking": booking.id},
        now=turn.now,
    )
    turn.show(turn.t(texts.CALL_CUSTOMER, customer=booking.customer_name, phone=phone))
    return True


async def _mute(
    turn: Turn, session: AsyncSession, roles: Roles, kind: str, business_id: int
) -> bool:
    if not roles.sees_schedule_of(business_id):
        return False
    key = (turn.event.user_id, business_id, kind)
    if await session.get(NoticeMute, key) is None:
        session.add(NoticeMute(user_id=key[0], business_id=business_id, kind=kind))
        await audit.record(
            session,
            actor_id=turn.event.user_id,
            action="mute",
            business_id=business_id,
            detail={"kind": kind},
            now=turn.now,
        )
    turn.alert = turn.t(texts.MUTED)
    turn.alert_dialog = True
    return True


__all__ = ["NoticeButtons", "may_see"]
