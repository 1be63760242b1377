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
from storage.fastlane import FastLane, from_db_datetime, to_db_datetime

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
) -> list[tuple[int, datetime]]:
    """(staff id, block start) of every block claimed in [first, last)."""
    marks = ", ".join("?" * len(staff_ids))  # only "?" marks go into the text
    sql = (
        "SELECT staff_id, block_start FROM local_slot_claims "  # noqa: S608
        f"WHERE staff_id IN ({marks}) AND block_start >= ? AND block_start < ?"
    )
    rows = await lane.fetchall(sql, (*staff_ids, to_db_datetime(first), to_db_datetime(last)))
    return [(staff_id, from_db_datetime(block)) for staff_id, block in rows]  # type: ignore[misc]


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
