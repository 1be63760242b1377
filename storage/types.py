"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always gives back aware UTC datetimes.

    SQLite has no time zone support and returns naive values; without this every comparison
    between a stored time and ``datetime.now(UTC)`` would fail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


#: The largest id of our integer primary keys (``INTEGER``, 32 bits on PostgreSQL). An id
#: read from a client (callback data) beyond it names no row; sent to PostgreSQL it is refused
#: ("value out of int32 range") instead of finding nothing, so it must not reach a query.
MAX_ROW_ID = 2**31 - 1


def row_id(text: str) -> int | None:
    """``text`` as one of our row ids (ASCII digits, 1 to :data:`MAX_ROW_ID`), else ``None``."""
    # isascii first: str.isdigit() and int() also take other scripts' digits ("١٢").
    if not (0 < len(text) <= 10 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None
