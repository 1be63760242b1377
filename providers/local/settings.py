"""The ``settings`` table of a ``local`` business in the TOML configuration."""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from providers.settings import ProviderSettings

#: Appointments occupy blocks of this many minutes; every time must fall on a block boundary.
BLOCK_MINUTES = 5
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def parse_range(text: str) -> tuple[time, time]:
    """``"09:00-12:30"`` -> (09:00, 12:30); ``24:00`` is accepted as an end (midnight)."""
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a HH:MM-HH:MM range")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (m1 % BLOCK_MINUTES) or (m2 % BLOCK_MINUTES):
        raise ValueError(f"{text!r}: minutes must be multiples of {BLOCK_MINUTES}")
    start = time(h1, m1)
    end = time(23, 59, 59) if (h2, m2) == (24, 0) else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


WeeklyRanges = dict[str, list[str]]


def _check_weekly(value: WeeklyRanges) -> WeeklyRanges:
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAYS)})")
        for text in ranges:
            parse_range(text)
    return value


class LocalServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    duration: int = Field(gt=0, le=24 * 60, description="minutes")
    price: Decimal | None = Field(default=None, ge=0)
    description: str | None = None

    @field_validator("duration")
    @classmethod
    def _on_block(cls, value: int) -> int:
        if value % BLOCK_MINUTES:
            raise ValueError(f"must be a multiple of {BLOCK_MINUTES} minutes")
        return value


class LocalStaffSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    #: service keys this person performs; empty means all
    services: list[str] = Field(default_factory=list)
    hours: WeeklyRanges = Field(default_factory=dict)
    breaks: WeeklyRanges = Field(default_factory=dict)

    _weekly = field_validator("hours", "breaks")(classmethod(lambda cls, v: _check_weekly(v)))


class LocalClosureSettings(BaseModel):
    """A closure: ``start`` to ``end`` (inclusive; ``end`` defaults to ``start``), all day or
    ``hours`` (``"HH:MM-HH:MM"``) on each day, for the staff members named (all if none)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")
    staff: list[str] = Field(default_factory=list)
    hours: str | None = None
    reason: str = Field(default="", max_length=200)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_range(value)
        return value

    @model_validator(mode="after")
    def _order(self) -> LocalClosureSettings:
        if self.end is not None and self.end < self.start:
            raise ValueError("a closure ends before it starts")
        return self


class LocalSettings(ProviderSettings):
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    min_lead_minutes: int = Field(default=60, ge=0)
    horizon_days: int = Field(default=60, ge=1, le=366)
    slot_step_minutes: int = Field(default=15, ge=BLOCK_MINUTES, le=240)
    services: list[LocalServiceSettings] = Field(min_length=1)
    staff: list[LocalStaffSettings] = Field(min_length=1)
    #: days off and blocked ranges (more can be added from Telegram with /close)
    closures: list[LocalClosureSettings] = Field(default_factory=list)

    @field_validator("slot_step_minutes")
    @classmethod
    def _step_on_block(cls, value: int) -> int:
        if value % BLOCK_MINUTES:
            raise ValueError(f"must be a multiple of {BLOCK_MINUTES} minutes")
        return value

    @model_validator(mode="after")
    def _references(self) -> LocalSettings:
        keys = {s.key for s in self.services}
        if len(keys) != len(self.services):
            raise ValueError("service keys must be unique")
        if len({p.key for p in self.staff}) != len(self.staff):
            raise ValueError("staff keys must be unique")
        for person in self.staff:
            unknown = sorted(set(person.services) - keys)
            if unknown:
                raise ValueError(f"staff {person.key!r} names unknown services {unknown}")
        # Customers would pick such a service and be told nothing can be booked.
        everything = any(not person.services for person in self.staff)
        performed = keys if everything else {key for p in self.staff for key in p.services}
        idle = [s.key for s in self.services if s.key not in performed]
        if idle:
            raise ValueError(
                f"no staff member performs {idle}: add them to someone's services (or remove them)"
            )
        people = {p.key for p in self.staff}
        for closure in self.closures:
            unknown = sorted(set(closure.staff) - people)
            if unknown:
                raise ValueError(f"a closure names unknown staff {unknown}")
        return self
