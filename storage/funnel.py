"""The booking funnel's counts (:class:`storage.admin_models.FunnelCount`): how many booking
conversations first reached each step, per business and day.

A turn that moves a booking to a step it never reached before counts it here, in the
transaction that stores its state (``bot.engine.engine``); turns that reach nothing new (most
of them: a month paged, a field typed, a menu shown again) run no statement of this module.
The counts are numbers only: no user, chat or answer (``storage.personal_data.PLAN``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.admin_models import FunnelCount
from storage.db import by_dialect

_table = cast(Table, FunnelCount.__table__)


class Reached(NamedTuple):
    """A step one booking conversation reached for the first time."""

    business_id: int
    #: the business's calendar day
    day: date
    step: str
    position: int


#: One more conversation at a step: a new row, or its count plus one (one statement either
#: way, with no read before it, and no SAVEPOINT on PostgreSQL).
_COUNT = by_dialect(
    lambda insert: (
        statement := insert(_table).values(
            business_id=bindparam("business_id"),
            day=bindparam("day", type_=_table.c.day.type),
            step=bindparam("step"),
            position=bindparam("position"),
            reached=1,
        )
    ).on_conflict_do_update(
        index_elements=[_table.c.business_id, _table.c.day, _table.c.step],
        set_={"reached": _table.c.reached + 1, "position": statement.excluded.position},
    )
)


def count(connection: Connection, reached: Sequence[Reached]) -> None:
    """Count each of ``reached`` once, in the connection's transaction (synchronous: run
    with the turn's state write in one ``run_sync``)."""
    connection.execute(_COUNT[connection.dialect.name], [r._asdict() for r in reached])


class StepCount(NamedTuple):
    step: str
    reached: int


async def over_period(
    session: AsyncSession, business_id: int, first: date, last: date
) -> list[StepCount]:
    """The steps of ``business_id``'s funnel reached from ``first`` to ``last`` (days
    included), in the order of the flow, each with how many conversations reached it."""
    rows = await session.execute(
        select(_table.c.step, func.sum(_table.c.reached))
        .where(
            _table.c.business_id == business_id,
            _table.c.day >= first,
            _table.c.day <= last,
        )
        .group_by(_table.c.step)
        .order_by(func.min(_table.c.position), _table.c.step)
    )
    return [StepCount(step, int(total)) for step, total in rows]


__all__ = ["Reached", "StepCount", "count", "over_period"]
