"""Tables of the business side (``bot/admin``): blocked users, the audit log of admin actions,
the admins' muted notices and the booking funnel's counts. Roles are in
:class:`storage.models.Admin`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class BlockedUser(Base):
    """A user an owner blocked with ``/block``: the bot ignores everything they send."""

    __tablename__ = "blocked_users"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    blocked_by: Mapped[int] = mapped_column(BigInteger)
    blocked_at: Mapped[datetime]


class AuditEntry(Base):
    """One admin action: who, what, when, for which business. Append-only: the migration adds
    triggers that refuse UPDATE and DELETE on this table, on SQLite and PostgreSQL.

    ``business_id`` is a plain number, not a foreign key: the record must outlive what it names.
    ``detail`` holds ids and the command's arguments, never a customer's name, phone or email."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    actor_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    business_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class NoticeMute(Base):
    """An admin or staff member who turned off one kind of booking notice for a business
    (``kind``: ``confirmed``, ``moved`` or ``cancelled``)."""

    __tablename__ = "notice_mutes"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    business_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)


class BookingClaim(Base):
    """A booking an admin entered for a customer who phoned (``/enter``), waiting for the
    customer to claim it in Telegram through ``t.me/<bot>?start=claim-<token>``. Until then the
    booking belongs to a placeholder user with no chat; the claim moves it to the customer."""

    __tablename__ = "booking_claims"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class FunnelCount(Base):
    """How many booking conversations first reached ``step`` of ``business_id``'s flow on
    ``day`` (the business's own calendar day): the funnel of ``/stats``. An aggregate, counted
    by :func:`storage.funnel.count` in the transaction that stores the turn's state: no user,
    chat or answer is kept, only the number.

    ``step`` is a step's key (``service``, ``staff``, ``date``, ``slot``, ``customer``,
    ``confirm``...), ``started`` (a booking begun) or ``booked``; ``position`` is its place in
    the flow (``started`` 0, the flow's steps from 1, ``booked`` after the last), so that
    ``/stats`` lists the steps in the order customers meet them."""

    __tablename__ = "funnel_counts"

    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    reached: Mapped[int] = mapped_column(Integer)
