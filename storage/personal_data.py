"""Everything we store about one user, table by table: what ``/mydata`` shows them and what
``/forget`` does with it.

:data:`PLAN` names every table of the schema (a test checks it against the models, so a new
table cannot be forgotten): the column that names the user, if any, and what forgetting does:
``delete`` their rows, ``pseudonymise`` them (the business keeps the booking: service, time,
staff, but no name, phone, email or Telegram id), or ``keep`` them, for a reason given.
Bookings at the platform are not cancelled: that is the user's choice, made in /mybookings.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Base, Booking, Business, LocalAppointment, User

Treatment = Literal["delete", "pseudonymise", "keep", "none"]


@dataclass(frozen=True)
class TablePlan:
    #: the column holding the user's Telegram id (``None``: no user's rows of its own)
    column: str | None
    forget: Treatment
    #: why, for ``keep``, ``pseudonymise`` and ``none``
    reason: str = ""


PLAN: dict[str, TablePlan] = {
    "businesses": TablePlan(None, "none", "the configuration's businesses"),
    "users": TablePlan("id", "delete"),
    "admins": TablePlan("user_id", "keep", "a role is the business's decision; /revoke ends it"),
    "conversations": TablePlan(
        "user_id", "delete", "the chat /forget is sent in goes on, with an empty state"
    ),
    "fiches": TablePlan("user_id", "delete"),
    "bookings": TablePlan(
        "user_id", "pseudonymise", "the business keeps its schedule: service, time and staff"
    ),
    "local_services": TablePlan(None, "none", "the calendar's catalog"),
    "local_staff": TablePlan(None, "none", "the calendar's catalog"),
    "local_staff_services": TablePlan(None, "none", "the calendar's catalog"),
    "local_hours": TablePlan(None, "none", "the calendar's catalog"),
    "local_appointments": TablePlan(
        None, "pseudonymise", "the local calendar's copy of the user's bookings"
    ),
    "local_slot_claims": TablePlan(None, "none", "which times are taken"),
    "local_closures": TablePlan(None, "none", "when the calendar is closed"),
    "booking_claims": TablePlan(
        None, "none", "a phoned-in booking's link: a token and its booking"
    ),
    "broadcasts": TablePlan("created_by", "keep", "an admin's message, the business's record"),
    "deliveries": TablePlan("user_id", "delete"),
    "delivery_preferences": TablePlan("user_id", "delete"),
    "blocked_chats": TablePlan("chat_id", "delete"),
    "blocked_users": TablePlan("user_id", "keep", "an owner's decision"),
    "audit_log": TablePlan("actor_id", "keep", "the append-only record of admin actions"),
    "notice_mutes": TablePlan("user_id", "delete"),
    "booking_intents": TablePlan("user_id", "delete"),
    "funnel_counts": TablePlan(
        None, "none", "numbers only: conversations that reached each step, per business and day"
    ),
    "webhook_updates": TablePlan(
        None, "none", "an update's JSON is kept until it is handled, then only its id (25 h)"
    ),
}

_bookings = cast(Table, Booking.__table__)
_appointments = cast(Table, LocalAppointment.__table__)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


async def _local_appointment_ids(connection: AsyncConnection, user_id: int) -> list[int]:
    """The local calendar's appointments behind the user's bookings (their ``provider_ref``)."""
    rows = await connection.execute(
        select(_bookings.c.provider_ref)
        .join(Business, Business.id == _bookings.c.business_id)
        .where(_bookings.c.user_id == user_id, Business.provider_kind == "local")
    )
    return [int(ref) for (ref,) in rows if str(ref).isdigit()]


async def everything_about(connection: AsyncConnection, user_id: int) -> dict[str, Any]:
    """Every row about ``user_id``, by table (what ``/mydata`` sends)."""
    found: dict[str, Any] = {}
    for name, plan in PLAN.items():
        table = _table(name)
        if plan.column is not None:
            query = select(table).where(table.c[plan.column] == user_id)
        elif name == "local_appointments":
            ids = await _local_appointment_ids(connection, user_id)
            query = select(table).where(table.c.id.in_(ids))
        else:
            continue
        rows = [dict(row._mapping) for row in await connection.execute(query)]
        if rows:
            found[name] = rows
    return found


async def forget(connection: AsyncConnection, user_id: int, *, keep_chat: int) -> None:
    """Do :data:`PLAN` for ``user_id``, in the caller's transaction. Their conversation in
    ``keep_chat`` is left for the caller, who saves it again with an empty state."""
    appointment_ids = await _local_appointment_ids(connection, user_id)
    if appointment_ids:
        await connection.execute(
            update(_appointments)
            .where(_appointments.c.id.in_(appointment_ids))
            .values(customer_name="", customer_phone=None, customer_email=None)
        )
    # The bookings move to a pseudonym (a user row with nothing in it: the foreign key needs
    # one), so nothing links them to the Telegram user any more.
    pseudonym = -1 - secrets.randbelow(2**62)
    await connection.execute(
        insert(cast(Table, User.__table__)).values(id=pseudonym, first_name="")
    )
    await connection.execute(
        update(_bookings)
        .where(_bookings.c.user_id == user_id)
        .values(user_id=pseudonym, chat_id=pseudonym, customer_name="", fiche_id=None)
    )
    for name, plan in PLAN.items():
        if plan.forget != "delete" or plan.column is None:
            continue
        table = _table(name)
        condition = table.c[plan.column] == user_id
        if name == "conversations":
            condition = condition & (table.c.chat_id != keep_chat)
        await connection.execute(delete(table).where(condition))


__all__ = ["PLAN", "TablePlan", "everything_about", "forget"]
