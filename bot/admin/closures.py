"""``/close`` and ``/reopen``: business admins close days (a holiday) or block time ranges
per staff member of a local calendar, from Telegram (the configuration's ``closures`` are the
other way). A feature on the engine; the calendar side is :mod:`providers.local.closures`.

``/close [business] <staff|all> <YYYY-MM-DD> [YYYY-MM-DD] [HH:MM-HH:MM] [reason]``; ``/close``
alone lists what is closed, with each closure's number for ``/reopen <number>``. A platform's
calendar is closed on the platform: the bot says so.
"""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import texts
from bot.admin.guard import roles_for
from bot.admin.rights import administered
from bot.engine.features import Feature
from bot.engine.turn import Turn
from bot.i18n import format_clock, format_short_day
from providers.local import closures
from providers.local.settings import parse_range
from storage import audit
from storage.models import Business, LocalClosure, LocalStaff

if TYPE_CHECKING:
    from bot.engine.engine import Engine


class Closures(Feature):
    commands: ClassVar[tuple[str, ...]] = ("close", "reopen")

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if await roles_for(turn, command, argument) is None:
            return
        async with turn.services.sessions() as session, session.begin():
            businesses = await administered(session, turn.event.user_id)
            if command == "reopen":
                await _reopen(turn, session, businesses, argument.strip())
            elif not argument.strip():
                await _list(turn, session, businesses)
            else:
                await _close(turn, session, businesses, argument.split())


async def _close(
    turn: Turn, session: AsyncSession, businesses: list[Business], words: list[str]
) -> None:
    by_slug = {b.slug: b for b in businesses}
    if words and words[0] in by_slug:
        business = by_slug[words.pop(0)]
    elif len(businesses) == 1:
        business = businesses[0]
    else:
        turn.show(turn.t(texts.CLOSE_USAGE))
        return
    if business.provider_kind != "local":
        turn.show(turn.t(texts.CLOSE_NOT_LOCAL, business=business.name))
        return
    staff = {
        s.key: s
        for s in await session.scalars(
            select(LocalStaff).where(LocalStaff.business_id == business.id, LocalStaff.active)
        )
    }
    parsed = _parse(words, staff)
    if parsed is None:
        turn.show(turn.t(texts.CLOSE_USAGE))
        return
    staff_ids, first, last, hours, reason = parsed
    done = await closures.close(
        session,
        business_id=business.id,
        staff_ids=staff_ids,
        intervals=closures.ranges(first, last, hours, turn.services.business(business.slug).zone),
        reason=reason,
        created_by=turn.event.user_id,
    )
    await audit.record(
        session,
        actor_id=turn.event.user_id,
        action="close",
        business_id=business.id,
        detail={"closures": done.closure_ids, "from": first.isoformat(), "to": last.isoformat()},
        now=turn.now,
    )
    lines = [turn.t(texts.CLOSED, count=len(done.closure_ids), business=business.name)]
    if done.bookings_kept:
        lines.append(turn.t(texts.CLOSED_BOOKINGS_KEPT, count=done.bookings_kept))
    turn.show("\n".join(lines))


def _parse(
    words: list[str], staff: dict[str, LocalStaff]
) -> tuple[list[int], date, date, tuple[time, time] | None, str] | None:
    """Staff ids, first and last day, hours, reason; ``None`` if the words do not read so."""
    words = list(words)
    if not words or (words[0] != "all" and words[0] not in staff):
        return None
    who = words.pop(0)
    staff_ids = [s.id for s in staff.values()] if who == "all" else [staff[who].id]
    try:
        first = date.fromisoformat(words.pop(0))
    except (IndexError, ValueError):
        return None
    last = first
    if words:
        try:
            last = date.fromisoformat(words[0])
            words.pop(0)
        except ValueError:
            pass
    if last < first:
        return None
    hours = None
    if words and "-" in words[0] and ":" in words[0]:
        try:
            hours = parse_range(words.pop(0))
        except ValueError:
            return None
    return staff_ids, first, last, hours, " ".join(words)


async def _list(turn: Turn, session: AsyncSession, businesses: list[Business]) -> None:
    lines = []
    for business in businesses:
        if business.provider_kind != "local":
            continue
        zone = turn.services.business(business.slug).zone
        names = {
            s.id: s.name
            for s in await session.scalars(
                select(LocalStaff).where(LocalStaff.business_id == business.id)
            )
        }
        for closure in await closures.upcoming(session, business.id, turn.now):
            lines.append(_line(turn, business, closure, names, zone))
    turn.show(turn.t(texts.CLOSE_USAGE) + "\n\n" + ("\n".join(lines) or turn.t(texts.NOT_CLOSED)))


def _line(
    turn: Turn, business: Business, closure: LocalClosure, names: dict[int, str], zone: ZoneInfo
) -> str:
    start = closure.start_at.astimezone(zone)
    end = closure.end_at.astimezone(zone)
    when = (
        f"{format_short_day(start.date(), turn.language)} {format_clock(start, turn.language)}"
        f" – {format_short_day(end.date(), turn.language)} {format_clock(end, turn.language)}"
    )
    staff = names.get(closure.staff_id, "—")
    return f"#{closure.id} · {business.name} · {staff} · {when} {closure.reason}".rstrip()


async def _reopen(
    turn: Turn, session: AsyncSession, businesses: list[Business], argument: str
) -> None:
    number = argument.removeprefix("#")
    if not number.isdigit():
        turn.show(turn.t(texts.REOPEN_USAGE))
        return
    for business in businesses:
        if await closures.reopen(session, business.id, int(number)):
            await audit.record(
                session,
                actor_id=turn.event.user_id,
                action="reopen",
                business_id=business.id,
                detail={"closure": int(number)},
                now=turn.now,
            )
            turn.show(turn.t(texts.REOPENED, number=number))
            return
    turn.show(turn.t(texts.NO_SUCH_CLOSURE, number=number))


__all__ = ["Closures"]
