"""The schema. Alembic migrations under ``migrations/`` are the only way it changes; a test checks
that these models and the migrated schema agree."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Business(Base):
    """A business as configured in the TOML file (synchronised at start-up)."""

    __tablename__ = "businesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_kind: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class User(Base):
    """A Telegram user who talked to the bot. ``id`` is the Telegram user id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    #: the Telegram @username (without the @, lower case), so an owner can name the user
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    #: set by /language; wins over the Telegram client's language
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Admin(Base):
    """A Telegram user with a role: ``owner`` (every business; ``business_id`` is null),
    ``admin`` of one business, or ``staff`` of one business (their own schedule: the staff
    member or resource named ``staff_name`` in the business's calendar).

    Owners and the configuration's admins are synchronised from the TOML file
    (``granted_by`` null); the others are granted with ``/grant`` (``granted_by``: the owner)."""

    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("user_id", "business_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16), default="admin")
    #: who granted it with /grant; null: from the configuration
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    #: for ``staff``: the staff member's name, as bookings name it (``Booking.resource_name``)
    staff_name: Mapped[str | None] = mapped_column(String(200))


class Conversation(Base):
    """Where a user is in a booking: read and written on every update (see bot/engine)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: bumped by every write; writes are conditional on it (optimistic concurrency)
    version: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class Fiche(Base):
    """A person appointments are booked for, as this user entered them for this business
    ("me", "my daughter"). ``provider_ref`` is the platform's customer or fiche id."""

    __tablename__ = "fiches"
    __table_args__ = (Index("ix_fiches_user_business", "user_id", "business_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(64), default="")
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    birth_date: Mapped[date | None] = mapped_column(Date)
    personal_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Booking(Base):
    """Our mirror of an appointment the platform confirmed."""

    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_user_start", "user_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    fiche_id: Mapped[int | None] = mapped_column(ForeignKey("fiches.id", ondelete="SET NULL"))
    provider_ref: Mapped[str] = mapped_column(String(128))
    service_name: Mapped[str] = mapped_column(String(200))
    resource_name: Mapped[str | None] = mapped_column(String(200))
    customer_name: Mapped[str] = mapped_column(String(400), default="")
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    price_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    #: the selection the booking was made with (ids only), so it can be rescheduled
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: one confirm screen books once, however often it is tapped
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    cancelled_at: Mapped[datetime | None]


# ------------------------------------------------------------------------------------------
# The built-in "local" calendar (providers/local): a platform kept in our own database.
# ------------------------------------------------------------------------------------------


class LocalService(Base):
    __tablename__ = "local_services"
    __table_args__ = (UniqueConstraint("business_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int]
    price_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LocalStaff(Base):
    __tablename__ = "local_staff"
    __table_args__ = (UniqueConstraint("business_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LocalStaffService(Base):
    """Which staff member performs which service."""

    __tablename__ = "local_staff_services"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("local_staff.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("local_services.id", ondelete="CASCADE"), primary_key=True
    )


class LocalHours(Base):
    """A staff member's weekly opening hours (``kind='open'``) and breaks (``kind='break'``),
    as wall-clock times in the business's time zone."""

    __tablename__ = "local_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("local_staff.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # 0 = Monday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    kind: Mapped[str] = mapped_column(String(8), default="open")


class LocalAppointment(Base):
    __tablename__ = "local_appointments"
    __table_args__ = (Index("ix_local_appointments_staff_start", "staff_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("local_services.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("local_staff.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    customer_name: Mapped[str] = mapped_column(String(400))
    customer_phone: Mapped[str | None] = mapped_column(String(32))
    customer_email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    cancelled_at: Mapped[datetime | None]


class LocalSlotClaim(Base):
    """One row per time block an appointment occupies. The unique constraint on
    (staff, block) is what makes a double booking impossible, on SQLite and PostgreSQL alike,
    even for appointments of different lengths that merely overlap."""

    __tablename__ = "local_slot_claims"
    __table_args__ = (UniqueConstraint("staff_id", "block_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the appointment holding the block, or (``closure_id``) the closure that blocks it
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_appointments.id", ondelete="CASCADE"), index=True
    )
    closure_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_closures.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("local_staff.id"))
    block_start: Mapped[datetime]


class LocalClosure(Base):
    """A time a staff member cannot be booked: a holiday, a closed day, a blocked range.
    It claims the free blocks of its range (:class:`LocalSlotClaim` with ``closure_id``), so
    the slot arithmetic and the double-booking constraint need nothing more; bookings already
    in the range stay. From the configuration (``created_by`` null) or ``/close``."""

    __tablename__ = "local_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("local_staff.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)


from storage import admin_models as admin_models  # noqa: E402
from storage import delivery_models as delivery_models  # noqa: E402
from storage import inbox as inbox  # noqa: E402
from storage import intent_models as intent_models  # noqa: E402
