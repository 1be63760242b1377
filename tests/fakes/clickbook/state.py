"""The fake ClickBook's world: catalog, accounts, sessions, registration stubs, client files,
bookings; and the knobs a test turns (latency, failures, faults, the clock).

What it enforces, as the platform documents it (seeds 000, 001): an account signs in only once
its registration stub is processed; NewUserRegistration's and NewClientFile's flags (Y, E, N, P,
T, X, O); a client file per email, once. What it enforces by our reading (see
``providers/clickbook/mapping.py``): a session cookie that expires, a booked timeslot gone from
the listing, a cancelled booking that cannot be cancelled twice.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Europe/Paris")
API_KEY = "fake-clickbook-api-key"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NUMERIC_RE = re.compile(r"^\+?\d{6,15}$")
TIMEZONES = [
    ("Europe/London", "(GMT) London"),
    ("Europe/Paris", "(GMT+01:00) Paris"),
    ("Europe/Berlin", "(GMT+01:00) Berlin"),
    ("America/New_York", "(GMT-05:00) New York"),
]
COUNTRIES = [("FR", "France"), ("GB", "United Kingdom"), ("DE", "Germany"), ("US", "United States")]


def local_now() -> datetime:
    return datetime.now(TIMEZONE).replace(tzinfo=None, second=0, microsecond=0)


@dataclass
class Account:
    email: str
    password: str
    first_name: str
    last_name: str
    user_type: str = "Customer"
    phone: str = ""
    locked: bool = False
    failures: int = 0


@dataclass
class Booking:
    id: str
    timeslot_id: str
    staff_id: str
    service_id: str
    start: datetime
    end: datetime
    email: str
    context_id: str
    cancelled: bool = False


@dataclass
class Control:
    """``fail_next(mode, count, operation)``: "unavailable" (503), "error" (500 without
    envelope), "timeout", "lost" (carried out, answer never arrives), "fault" (a SOAP fault);
    with ``operation``, only the next requests of that SOAP operation fail."""

    latency_ms: float = 0.0
    failures: list[tuple[str, str | None]] = field(default_factory=list)
    offset: timedelta = timedelta()

    def fail_next(self, mode: str, count: int = 1, operation: str | None = None) -> None:
        if mode not in {"unavailable", "error", "timeout", "lost", "fault"}:
            raise ValueError(mode)
        self.failures.extend([(mode, operation)] * count)

    def take(self, operation: str = "") -> str | None:
        """The failure the next request of ``operation`` gets, if any (used up)."""
        for index, (mode, only) in enumerate(self.failures):
            if only is None or only == operation:
                del self.failures[index]
                return mode
        return None


class World:
    """Everything the fake platform knows."""

    def __init__(
        self, clock: Callable[[], datetime] = local_now, session_ttl: timedelta = timedelta(hours=1)
    ) -> None:
        self._clock = clock
        self.control = Control()
        self.session_ttl = session_ttl
        self.providers = {"P100": "Studio Zen"}
        self.locations = {"L1": "City centre", "L2": "Harbour"}
        # id -> (name, minutes, price)
        self.services = {"S1": ("Massage", 60, "55.00"), "S2": ("Facial", 30, "40.00")}
        self.staff = {"T1": "Maya", "T2": "Noah"}
        self.opening = (time(9), time(17))
        self.accounts: dict[str, Account] = {}
        self.sessions: dict[str, tuple[str, datetime]] = {}
        self.stubs: dict[str, dict[str, str]] = {}
        self.client_files: dict[str, dict[str, str]] = {}
        self.bookings: dict[str, Booking] = {}
        self._ids = itertools.count(5000)

    def now(self) -> datetime:
        return self._clock() + self.control.offset

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    # -- accounts and sessions -------------------------------------------------------------------
    def add_account(self, email: str, password: str, **attributes: str) -> Account:
        account = Account(
            email=email.lower(),
            password=password,
            first_name=attributes.get("first_name", "Anna"),
            last_name=attributes.get("last_name", "Martin"),
            user_type=attributes.get("user_type", "Customer"),
            phone=attributes.get("phone", "0612345678"),
        )
        self.accounts[account.email] = account
        return account

    def open_session(self, email: str) -> str:
        token = secrets.token_hex(16)
        self.sessions[token] = (email, self.now() + self.session_ttl)
        return token

    def session_user(self, token: str | None) -> Account | None:
        found = self.sessions.get(token or "")
        if found is None or found[1] <= self.now():
            return None
        return self.accounts.get(found[0])

    def expire_sessions(self) -> None:
        self.sessions.clear()

    # -- timeslots -------------------------------------------------------------------------------
    def _busy(self, staff_id: str, start: datetime, end: datetime) -> bool:
        return any(
            b.staff_id == staff_id and not b.cancelled and b.start < end and start < b.end
            for b in self.bookings.values()
        )

    def free_slots(
        self, service_id: str, staff_id: str, first: date, last: date
    ) -> list[tuple[str, str, datetime, datetime]]:
        """(timeslot id, staff id, start, end), every half hour of the opening hours, Mon-Sat."""
        if service_id not in self.services:
            return []
        minutes = self.services[service_id][1]
        staff_ids = [staff_id] if staff_id else sorted(self.staff)
        now = self.now()
        found = []
        day = first
        while day <= last:
            if day.weekday() < 6:
                start = datetime.combine(day, self.opening[0])
                closing = datetime.combine(day, self.opening[1])
                while start + timedelta(minutes=minutes) <= closing:
                    end = start + timedelta(minutes=minutes)
                    if start > now:
                        for sid in staff_ids:
                            if not self._busy(sid, start, end):
                                slot_id = f"TS-{sid}-{start:%Y%m%d%H%M}-{service_id}"
                                found.append((slot_id, sid, start, end))
                                break  # "any": the first free staff member at that time
                    start += timedelta(minutes=30)
            day += timedelta(days=1)
        return found

    def parse_timeslot(self, slot_id: str) -> tuple[str, datetime, str] | None:
        match = re.fullmatch(r"TS-(T\d+)-(\d{12})-(S\d+)", slot_id)
        if not match or match[1] not in self.staff or match[3] not in self.services:
            return None
        return match[1], datetime.strptime(match[2], "%Y%m%d%H%M"), match[3]

    def book(self, slot_id: str, service_id: str, email: str, context_id: str) -> Booking | int:
        """The new booking, or a code: 404 unknown timeslot, 409 no longer free."""
        parsed = self.parse_timeslot(slot_id)
        if parsed is None or (service_id and parsed[2] != service_id):
            return 404
        staff_id, start, service = parsed
        end = start + timedelta(minutes=self.services[service][1])
        if start <= self.now() or self._busy(staff_id, start, end):
            return 409
        booking = Booking(
            self.next_id("B"), slot_id, staff_id, service, start, end, email, context_id
        )
        self.bookings[booking.id] = booking
        return booking

    def live_bookings(self) -> list[Booking]:
        return [b for b in self.bookings.values() if not b.cancelled]

    # -- SETUSERFIELDS validation ------------------------------------------------------------------
    def registration_errors(self, values: dict[str, str]) -> dict[str, str]:
        """NewUserRegistration's flags, field by field."""
        errors: dict[str, str] = {}
        mandatory = [
            "inp-firstname", "inp-lastname", "inp-telfixed", "inp-emailaddress1",
            "inp-emailaddress2", "inp-password1", "inp-password2", "inp-agreeterms",
            "inp-timezone", "inp-country",
        ]  # fmt: skip
        for name in mandatory:
            if not values.get(name):
                errors[name] = "This field is mandatory"
        for name in ("inp-telfixed", "inp-telmobile"):
            if values.get(name) and not NUMERIC_RE.match(values[name]):
                errors[name] = "Please enter a number"
        for name in ("inp-emailaddress1", "inp-emailaddress2"):
            if values.get(name) and not EMAIL_RE.match(values[name]):
                errors[name] = "Please enter a valid email address"
        if values.get("inp-emailaddress1") != values.get("inp-emailaddress2"):
            errors["inp-emailaddress2"] = "The email addresses do not match"
        if values.get("inp-password1") != values.get("inp-password2"):
            errors["inp-password2"] = "The passwords do not match"
        if values.get("inp-agreeterms") not in (None, "", "1"):  # T: "1" or "0"; Y: must agree
            errors["inp-agreeterms"] = "You must agree to the terms"
        if values.get("inp-timezone") and values["inp-timezone"] not in dict(TIMEZONES):
            errors["inp-timezone"] = "Unknown time zone"
        if values.get("inp-country") and values["inp-country"] not in dict(COUNTRIES):
            errors["inp-country"] = "Unknown country"
        return errors

    def client_file_errors(self, values: dict[str, str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for name in ("inp-firstname", "inp-lastname", "inp-telfixed"):
            if not values.get(name):
                errors[name] = "This field is mandatory"
        for name in ("inp-telfixed", "inp-telmobile"):
            if values.get(name) and not NUMERIC_RE.match(values[name]):
                errors[name] = "Please enter a number"
        for name in ("inp-newemailaddress1", "inp-newemailaddress2"):
            if values.get(name) and not EMAIL_RE.match(values[name]):
                errors[name] = "Please enter a valid email address"
        return errors
