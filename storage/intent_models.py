"""The booking intents table: what a tap on Confirm is about to book, written before the
platform is called (see :mod:`storage.intents`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

#: The platform call has not been settled: it may or may not have booked.
PENDING = "pending"
#: Booked, and our mirror row (``booking_id``) and its reminders are written.
BOOKED = "booked"
#: The platform did not book it (refused, or a lookup found nothing).
FAILED = "failed"
#: Nobody can tell: the platform did not answer and cannot be asked what it booked.
UNKNOWN = "unknown"


class BookingIntent(Base):
    """One Confirm (booking or reschedule), recorded in the transaction that checkpoints the
    conversation, before the platform is called; settled (``status``) by the turn that made
    the call, or later by looking the appointment up (``bot.engine.intents``).

    ``request`` is the booking in progress as the conversation state stores it (what was
    sent: the selection, the slot, the customer's details) plus who booked it; it is emptied
    once the intent is settled, so personal details are kept only while they are needed."""

    __tablename__ = "booking_intents"
    __table_args__ = (Index("ix_booking_intents_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the key of the Confirm screen (``<conversation id>:<version>``), the booking row's too
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    #: ``book`` or ``reschedule``
    kind: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    #: when the user was told the outcome (in the chat, or by a notice in the outbox)
    told_at: Mapped[datetime | None]
    #: platform lookups tried for a pending intent by the sweep (bounded)
    lookups: Mapped[int] = mapped_column(Integer, default=0)
