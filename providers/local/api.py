"""The local calendar's "API": its tables, and the Core statements the adapter runs on them.

In the adapter template ``api.py`` holds what the adapter knows about the platform's wire format;
the local calendar has no remote platform, so its wire format is the ``local_appointments`` and
``local_slot_claims`` tables. The statements are built once (SQLAlchemy then reuses their
compiled form): the calendar reads its claimed blocks on every calendar and slot screen, and
writes no objects that an ORM session would need to track.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Integer, Table, bindparam, delete, extract, insert, select, update
from sqlalchemy import cast as sql_cast

from storage.models import LocalAppointment, LocalSlotClaim

_appointments = cast(Table, LocalAppointment.__table__)
_claims = cast(Table, LocalSlotClaim.__table__)

#: (staff id, block start in epoch seconds) of the blocks claimed in [p_first, p_last): the
#: database turns each stored time into seconds, cheaper than a datetime per block in Python
#: (a month view reads every claimed block of the month).
TAKEN = select(
    _claims.c.staff_id, sql_cast(extract("epoch", _claims.c.block_start), Integer)
).where(
    _claims.c.staff_id.in_(bindparam("p_staff", expanding=True)),
    _claims.c.block_start >= bindparam("p_first", type_=_claims.c.block_start.type),
    _claims.c.block_start < bindparam("p_last", type_=_claims.c.block_start.type),
)
INSERT_APPOINTMENT = insert(_appointments).returning(_appointments.c.id)
#: One row per claimed block: the unique constraint on (staff, block) makes double bookings
#: impossible.
INSERT_CLAIM = insert(_claims)
FREE_CLAIMS = delete(_claims).where(_claims.c.appointment_id == bindparam("p_id"))
#: A confirmed appointment of this business, and only that, is changed.
_CONFIRMED = (
    _appointments.c.id == bindparam("p_id"),
    _appointments.c.business_id == bindparam("p_business"),
    _appointments.c.status == "confirmed",
)
#: The confirmed appointment a booking (or a move) made: looked up after a crash.
FIND_APPOINTMENT = select(
    _appointments.c.id,
    _appointments.c.service_id,
    _appointments.c.start_at,
    _appointments.c.end_at,
).where(
    _appointments.c.business_id == bindparam("p_business"),
    _appointments.c.staff_id == bindparam("p_staff"),
    _appointments.c.start_at == bindparam("p_start", type_=_appointments.c.start_at.type),
    _appointments.c.customer_name == bindparam("p_name"),
    _appointments.c.status == "confirmed",
)
#: Whether a confirmed appointment of this business exists (the lookup after a cancel).
CONFIRMED = select(_appointments.c.id).where(*_CONFIRMED)
CANCEL = (
    update(_appointments)
    .where(*_CONFIRMED)
    .values(
        status="cancelled",
        cancelled_at=bindparam("p_now", type_=_appointments.c.cancelled_at.type),
    )
)
RESCHEDULE = (
    update(_appointments)
    .where(*_CONFIRMED)
    .values(
        start_at=bindparam("p_start", type_=_appointments.c.start_at.type),
        end_at=bindparam("p_end", type_=_appointments.c.end_at.type),
        staff_id=bindparam("p_staff_id", type_=_appointments.c.staff_id.type),
    )
)
