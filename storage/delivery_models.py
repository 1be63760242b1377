"""Tables of the delivery engine (``bot/delivery``): the outbox, broadcasts and the customer's
delivery preferences.

Every message the bot owes someone outside a conversation is one :class:`Delivery` row, written
in the same transaction as the event that caused it and sent by a dispatcher. A row moves
``pending -> sending`` when a dispatcher claims it (``lease_until`` says until when the claim
holds; ``next_attempt_at`` is set to the same instant so that one index finds both due rows and
expired claims), then to one final status: ``sent``, ``failed``, ``blocked``, ``skipped``,
``cancelled`` or ``expired``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

#: Outbox statuses a dispatcher may still claim.
OPEN_STATUSES = ("pending", "sending")
#: Final statuses.
FINAL_STATUSES = ("sent", "failed", "blocked", "skipped", "cancelled", "expired")

#: Lower goes first: reminders and notices before broadcasts.
PRIORITY_REMINDER = 0
PRIORITY_NOTICE = 0
PRIORITY_BROADCAST = 10


class Broadcast(Base):
    """A message a business admin sends to the business's customers.

    ``status``: ``draft`` (being composed: ``step`` says what the admin is asked next),
    ``sending`` (deliveries written), ``cancelled``, ``done`` (final report sent)."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_created_by_status", "created_by", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    #: Telegram user id of the admin who composed it
    created_by: Mapped[int] = mapped_column(BigInteger)
    #: the admin's chat, where the preview, the progress message and the report go
    admin_chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    step: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    #: Telegram ``MessageEntity`` dicts, so formatting survives exactly
    entities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: ``{"kind": "all"}`` or ``{"kind": "range", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}``
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    confirmed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Delivery(Base):
    """One message owed to one chat (the outbox)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The claim query walks this index in priority order and stops after a batch; partial,
        # so the (many) finished rows never slow it down.
        Index(
            "ix_deliveries_due",
            "priority",
            "next_attempt_at",
            sqlite_where=text("status IN ('pending', 'sending')"),
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_deliveries_booking", "booking_id"),
        Index("ix_deliveries_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``reminder``, ``broadcast`` or ``notice``
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=PRIORITY_BROADCAST)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE")
    )
    #: for reminders: how long before the appointment it is sent
    offset_minutes: Mapped[int | None] = mapped_column(Integer)
    #: for notices: ``{"text": ...}``
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    #: for reminders: what the customer answered with the buttons ("confirmed")
    answer: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeliveryPreference(Base):
    """A customer's choices for one business (``/settings``). No row: reminders on, news off
    (news needs the customer's yes; see ``bot.delivery.preferences``)."""

    __tablename__ = "delivery_preferences"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), primary_key=True
    )
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    news: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the customer answered about news (the consent's yes, or the news switch in /settings);
    #: until then ``news`` counts as off and the consent is asked (a row may exist because
    #: only the reminders were switched)
    news_answered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class BlockedChat(Base):
    """A chat whose user blocked the bot (Telegram answered 403). Skipped until they come back
    (``/start`` or an unblock update removes the row)."""

    __tablename__ = "blocked_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    blocked_at: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(Text)
