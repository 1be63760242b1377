"""``/stats [YYYY-MM-DD YYYY-MM-DD]`` (business admins and owners): per business, over the
period (default: the last 30 days), the bookings made, cancelled and missed (no-shows), the
reminders and notices sent, and the bookings in progress right now by the step they are at
(read from the conversations: where customers are, or stopped; abandoned ones are swept after
the idle timeout), and the booking funnel over the period: bookings started, then each step
of the flow with how many conversations reached it, their share of the previous step and how
many stopped there (:mod:`bot.engine.funnel` counts them, :mod:`storage.funnel` keeps them;
conversations before the release that added the funnel are not in it). A feature on the
engine: a table in one message, and a bar chart of the bookings per day as a photo
(:mod:`bot.admin.charts`)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from babel.numbers import format_percent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import texts
from bot.admin.charts import bookings_chart
from bot.admin.guard import roles_for
from bot.admin.period import period_argument
from bot.admin.rights import administered
from bot.delivery.notices import KIND as NOTICE_KIND
from bot.engine import funnel
from bot.engine.features import Feature
from bot.engine.state import ConversationState
from bot.engine.turn import Turn
from bot.engine.types import Document
from bot.i18n import format_number
from storage import audit
from storage.delivery_models import Delivery
from storage.funnel import StepCount, over_period
from storage.models import Booking, Business, Conversation

if TYPE_CHECKING:
    from bot.engine.engine import Engine


class Stats(Feature):
    commands: ClassVar[tuple[str, ...]] = ("stats",)

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if await roles_for(turn, command, argument) is None:
            return
        period = period_argument(turn, argument, before=29, after=0, usage=texts.STATS_USAGE)
        if period is None:
            return
        first, last = period
        blocks = []
        async with turn.services.sessions() as session, session.begin():
            businesses = await administered(session, turn.event.user_id)
            in_progress = await _in_progress(session, turn)
            charts = []
            for business in businesses:
                counts = await _counts(session, business, turn, first, last)
                steps = in_progress.get(business.slug, Counter())
                blocks.append(_table(turn, business, counts, steps))
                reached = await over_period(session, business.id, first, last)
                blocks.append(funnel_table(turn, reached))
                if counts["made"]:
                    zone = turn.services.business(business.slug).zone
                    charts.append((business, await per_day(session, business, zone, first, last)))
            await audit.record(
                session,
                actor_id=turn.event.user_id,
                action="stats",
                business_id=None,
                detail={"from": first.isoformat(), "to": last.isoformat()},
                now=turn.now,
            )
        header = turn.t(texts.STATS_HEADER, first=first.isoformat(), last=last.isoformat())
        turn.show("\n\n".join([header, *blocks]))
        labels = (turn.t(texts.STATS_KEPT), turn.t(texts.STATS_CANCELLED_SHORT))
        for business, (days, made, cancelled) in charts:
            picture = await bookings_chart(business.name, days, made, cancelled, labels)
            name = f"{business.slug}-{first.isoformat()}-{last.isoformat()}.png"
            turn.documents.append(Document(name, picture, business.name, photo=True))


async def _counts(
    session: AsyncSession, business: Business, turn: Turn, first: date, last: date
) -> dict[str, int]:
    zone = turn.services.business(business.slug).zone
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    made = (
        Booking.business_id == business.id,
        Booking.created_at >= start,
        Booking.created_at < end,
    )
    by_status = dict(
        (
            await session.execute(
                select(Booking.status, func.count()).where(*made).group_by(Booking.status)
            )
        ).all()
    )
    sent = dict(
        (
            await session.execute(
                select(Delivery.kind, func.count())
                .where(
                    Delivery.business_id == business.id,
                    Delivery.status == "sent",
                    Delivery.sent_at >= start,
                    Delivery.sent_at < end,
                )
                .group_by(Delivery.kind)
            )
        ).all()
    )
    return {
        "made": sum(by_status.values()),
        "cancelled": by_status.get("cancelled", 0),
        "no_show": by_status.get("no_show", 0),
        "reminders": sent.get("reminder", 0),
        "notices": sent.get(NOTICE_KIND, 0),
    }


async def per_day(
    session: AsyncSession, business: Business, zone: ZoneInfo, first: date, last: date
) -> tuple[list[date], list[int], list[int]]:
    """Each day of the period, the bookings made that day, and how many of them are
    cancelled (days in the business's time zone, ``zone``)."""
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    made = dict.fromkeys(days, 0)
    cancelled = dict.fromkeys(days, 0)
    rows = await session.execute(
        select(Booking.created_at, Booking.status).where(
            Booking.business_id == business.id,
            Booking.created_at >= start,
            Booking.created_at < end,
        )
    )
    for created, status in rows:
        day = created.astimezone(zone).date()
        if day in made:
            made[day] += 1
            cancelled[day] += status == "cancelled"
    return days, list(made.values()), list(cancelled.values())


async def _in_progress(session: AsyncSession, turn: Turn) -> dict[str, Counter[str]]:
    """Business slug -> step key (as the funnel names steps) -> bookings in progress at that
    step now."""
    found: dict[str, Counter[str]] = {}
    rows = await session.scalars(
        select(Conversation.data).where(Conversation.expires_at > turn.now)
    )
    for data in rows:
        booking = ConversationState.from_stored(data).booking
        if booking is None or not booking.flow:
            continue
        step = booking.flow[min(booking.index, len(booking.flow) - 1)]
        key = str(step.get("key") or step.get("kind", "?"))
        found.setdefault(booking.business, Counter())[key] += 1
    return found


def _table(turn: Turn, business: Business, counts: dict[str, int], steps: Counter[str]) -> str:
    rows = [
        (turn.t(texts.STATS_MADE), counts["made"]),
        (turn.t(texts.STATS_CANCELLED), counts["cancelled"]),
        (turn.t(texts.STATS_NO_SHOW), counts["no_show"]),
        (turn.t(texts.STATS_REMINDERS), counts["reminders"]),
        (turn.t(texts.STATS_NOTICES), counts["notices"]),
    ]
    lines = [business.name]
    for label, value in rows:
        lines.append(
            turn.t(texts.STATS_LINE, label=label, value=format_number(value, turn.language))
        )
    if steps:
        at = ", ".join(f"{_step_name(turn, key)} {count}" for key, count in sorted(steps.items()))
        lines.append(turn.t(texts.STATS_IN_PROGRESS, steps=at))
    return "\n".join(lines)


#: The funnel's step keys (``providers.base.Step.key``) as /stats names them; a key not here
#: is shown as it is.
STEP_NAMES: dict[str, str] = {
    "service": texts.STEP_SERVICE,
    "service_group": texts.STEP_SERVICE_GROUP,
    "category": texts.STEP_CATEGORY,
    "location": texts.STEP_LOCATION,
    "branch": texts.STEP_BRANCH,
    "staff": texts.STEP_STAFF,
    "resource": texts.STEP_RESOURCE,
    "calendar": texts.STEP_CALENDAR,
    "provider": texts.STEP_PROVIDER,
    "party_size": texts.STEP_PARTY_SIZE,
    "date": texts.STEP_DATE,
    "slot": texts.STEP_SLOT,
    "sign_in": texts.STEP_SIGN_IN,
    "questions": texts.STEP_QUESTIONS,
    "customer": texts.STEP_CUSTOMER,
    "confirm": texts.STEP_CONFIRM,
}


def funnel_table(turn: Turn, steps: list[StepCount]) -> str:
    """The funnel's lines: bookings started, then each step in the flow's order with how many
    reached it, their share of the previous line, and how many stopped there (reached it but
    not the next step: they gave up, or are still on it), then the bookings made.

    Steps are counted on the day they are reached, so a booking begun the day before the
    period and finished in it is counted from the step it reached in the period on: a share
    may then pass 100% (or have no previous step to be a share of: "-"), and "stopped" is
    never below 0."""
    if not steps:
        return turn.t(texts.STATS_FUNNEL_EMPTY)
    if steps[0].step != funnel.STARTED:
        steps = [StepCount(funnel.STARTED, 0), *steps]
    language = turn.language
    lines = [
        turn.t(texts.STATS_FUNNEL),
        turn.t(texts.STATS_FUNNEL_STARTED, count=format_number(steps[0].reached, language)),
    ]
    for previous, here, after in zip(steps[:-1], steps[1:], [*steps[2:], None], strict=True):
        count = format_number(here.reached, language)
        share = (
            format_percent(here.reached / previous.reached, locale=language)
            if previous.reached
            else "-"
        )
        if here.step == funnel.BOOKED:
            lines.append(turn.t(texts.STATS_FUNNEL_BOOKED, count=count, share=share))
            continue
        stopped = max(0, here.reached - (after.reached if after else 0))
        lines.append(
            turn.t(
                texts.STATS_FUNNEL_STEP,
                step=_step_name(turn, here.step),
                count=count,
                share=share,
                stopped=format_number(stopped, language),
            )
        )
    return "\n".join(lines)


def _step_name(turn: Turn, key: str) -> str:
    """A step as /stats names it, in the admin's language (a key without a name as it is)."""
    name = STEP_NAMES.get(key)
    return turn.t(name) if name else key


__all__ = ["STEP_NAMES", "Stats", "funnel_table"]
