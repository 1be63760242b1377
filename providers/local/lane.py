"""The local calendar's reads and writes on SQLite's fast lane (:mod:`storage.fastlane`).

The same statements as the SQLAlchemy path of :mod:`providers.local.adapter`, which PostgreSQL
uses: the claimed blocks of a date range (every calendar and slot screen, and the re-check
before booking), booking (an appointment and its claimed blocks in one transaction: the unique
(staff, block) constraint still makes a double booking impossible) and cancelling. The tests run
both paths (tests/providers/test_local_lane.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from providers.base import SlotTaken
from storage.fastlane import FastLane, to_db_datetime

_INSERT_APPOINTMENT = (
    "INSERT INTO local_appointments (business_id, service_id, staff_id, start_at, end_at, "
    "status, customer_name, customer_phone, customer_email, created_at) "
    "VALUES (?, ?, ?, ?, ?, 'confirmed', ?, ?, ?, CURRENT_TIMESTAMP) RETURNING id"
)
_INSERT_CLAIM = (
    "INSERT INTO local_slot_claims (appointment_id, staff_id, block_start) VALUES (?, ?, ?)"
)
_CANCEL = (
    "UPDATE local_appointments SET status = 'cancelled', cancelled_at = ? "
    "WHERE id = ? AND business_id = ? AND status = 'confirmed'"
)
_FREE_CLAIMS = "DELETE FROM local_slot_claims WHERE appointment_id = ?"


async def taken_blocks(
    lane: FastLane, staff_ids: Sequence[int], first: datetime, last: datetime
) -> list[tuple[int, int]]:
    """(staff id, block start in epoch seconds) of every block claimed in [first, last).

    SQLite turns the stored text (UTC, ``to_db_datetime``'s shape) into epoch seconds itself: a
    month view reads every claimed block of the month, and parsing each into a datetime in
    Python cost several times the query. ``julianday`` counts whole milliseconds, so rounding
    its seconds gives the exact second (and it is cheaper than ``strftime('%s')``)."""
    marks = ", ".join("?" * len(staff_ids))  # only "?" marks go into the text
    sql = (
        "SELECT staff_id, "  # noqa: S608
        "CAST(round((julianday(block_start) - 2440587.5) * 86400) AS INTEGER) "
        f"FROM local_slot_claims WHERE staff_id IN ({marks}) "
        "AND block_start >= ? AND block_start < ?"
    )
    rows = await lane.fetchall(sql, (*staff_ids, to_db_datetime(first), to_db_datetime(last)))
    return [(staff_id, block) for staff_id, block in rows]


async def insert_appointment(
    lane: FastLane,
    *,
    business_id: int,
    service_id: int,
    staff_id: int,
    start: datetime,
    end: datetime,
    customer: tuple[str, str | None, str | None],
    blocks: Sequence[datetime],
) -> int:
    """Store an appointment and claim its blocks; :class:`SlotTaken` if one is claimed."""
    name, phone, email = customer
    try:
        async with lane.transaction() as connection:
            cursor = await connection.execute(
                _INSERT_APPOINTMENT,
                (
                    business_id,
                    service_id,
                    staff_id,
                    to_db_datetime(start),
                    to_db_datetime(end),
                    name,
                    phone,
                    email,
                ),
            )
            appointment_id: int = (await cursor.fetchone())[0]
            await cursor.close()
            await connection.cursor().executemany(
                _INSERT_CLAIM, [(appointment_id, staff_id, to_db_datetime(b)) for b in blocks]
            )
    except sqlite3.IntegrityError:
        raise SlotTaken() from None
    return appointment_id


async def cancel_appointment(
    lane: FastLane, appointment_id: int, business_id: int, now: datetime
) -> bool:
    """Cancel a confirmed appointment and free its blocks; ``False`` if there was none."""
    async with lane.transaction() as connection:
        cursor = await connection.execute(
            _CANCEL, (to_db_datetime(now), appointment_id, business_id)
        )
        if cursor.rowcount != 1:
            return False
        await connection.execute(_FREE_CLAIMS, (appointment_id,))
    return True
