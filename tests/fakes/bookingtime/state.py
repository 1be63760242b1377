"""The state of the fake bookingtime platform: clock, clients, tokens, calendar, appointments,
failure plan and request log. The HTTP side lives in :mod:`tests.fakes.bookingtime.app`.

The calendar is small on purpose: each organization opens on weekdays, each template needs one
resource from its pool for ``duration`` minutes, a slot starts every ``SLOT_STEP`` minutes. A
(start, resource) pair is free when no live appointment overlaps it, so booking, moving and
cancelling change what the listings show.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

FailureMode = Literal[
    "unavailable", "server_error", "timeout", "malformed", "unauthorized", "html_bad_request"
]

SLOT_STEP = timedelta(minutes=30)
#: How far ahead a template whose window is unset (``bookingDayEarliest``/``bookingDayLatest``
#: both 0) can be booked: the organisation's default horizon (the vendor's app SDK shows
#: 0/14/120-style organisation defaults; 120 days here).
DEFAULT_HORIZON_DAYS = 120


class FakeClock:
    """An injectable clock (tz-aware UTC) shared by the fake and the adapter under test."""

    def __init__(self, now: datetime | None = None) -> None:
        # A Monday, 08:00 in Berlin.
        self.now = now or datetime(2030, 3, 4, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordedRequest:
    method: str
    path: str
    locale: str | None = None
    grant_type: str | None = None
    status: int = 0


@dataclass
class _Failure:
    mode: FailureMode
    remaining: int
    path_contains: str | None


class Control:
    """Failure injection: latency on every request, and failures of the next N requests."""

    def __init__(self) -> None:
        self.latency = 0.0
        #: how long a "timeout" request hangs (the client's own timeout should fire first)
        self.hang_seconds = 30.0
        self._plan: list[_Failure] = []
        #: refusals of the next ``appointment/add`` requests, answered as given
        self.add_refusals: list[Refusal] = []

    def fail_next(
        self, mode: FailureMode, count: int = 1, *, path_contains: str | None = None
    ) -> None:
        """Make the next ``count`` requests (whose path contains ``path_contains``) fail."""
        self._plan.append(_Failure(mode, count, path_contains))

    def refuse_next_add(
        self,
        status: int,
        text: str,
        parameter: str | None = None,
        *,
        type_: str = "failure",
    ) -> None:
        """Answer the next ``appointment/add`` with ``status`` and one message as given (the
        failure type's spelling is not documented; the SDK only shows ``"success"``)."""
        self.add_refusals.append(Refusal(status, text, parameter, type_))

    def clear(self) -> None:
        self._plan.clear()

    def take(self, path: str) -> FailureMode | None:
        for failure in self._plan:
            if failure.path_contains is None or failure.path_contains in path:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._plan.remove(failure)
                return failure.mode
        return None


@dataclass(frozen=True)
class Refusal:
    status: int
    text: str
    parameter: str | None
    type_: str


@dataclass
class Token:
    value: str
    kind: Literal["refresh", "access"]
    client_id: str
    organization_id: str | None
    expires_at: datetime
    revoked: bool = False


@dataclass
class FakeResource:
    id: str
    name: str
    type: str = "EMPLOYEE"

    def record(self) -> dict[str, Any]:
        return {"class": "BOOKING_RESOURCE", "id": self.id, "name": self.name, "type": self.type}


@dataclass
class FakeTemplate:
    """A booking template; ``pool`` are the resources it can use, ``choice`` whether the
    customer picks one (then the pool appears in ``bookingStepList``)."""

    id: str
    names: dict[str, str]
    duration: int
    price: float
    show_price: bool
    pool: list[FakeResource]
    choice: bool = False
    email_required: bool = True
    mobile_required: bool = False
    address_required: bool = False
    #: parts of the address beside the street this template's back end insists on (``zip``,
    #: ``city``): the documents do not say which are required, so a test may ask for them
    address_parts_required: tuple[str, ...] = ()
    day_earliest: int = 0
    day_latest: int = 30
    lead_time: int = 120
    description: str = ""

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names["en"]

    @property
    def horizon_days(self) -> int:
        """The last bookable day, from today: 0/0 means unset, the platform's default."""
        if self.day_earliest == 0 and self.day_latest == 0:
            return DEFAULT_HORIZON_DAYS
        return self.day_latest

    def record(self, locale: str, timezone: str) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        if self.choice:
            steps.append(
                {
                    "class": "BOOKING_STEP",
                    "type": "BOOKING_RESOURCE",
                    "bookingResourceList": [r.record() for r in self.pool],
                }
            )
        return {
            "class": "BOOKING_TEMPLATE",
            "id": self.id,
            "customId": "",
            "name": self.name(locale),
            "nameI18nList": self.names,
            "location": "ORGANIZATION_ADDRESS",
            "duration": self.duration,
            "leadTime": 0,
            "followupTime": 0,
            "price": {
                "class": "PRICE",
                "priceGross": self.price,
                "taxRate": 19,
                "currency": "EUR",
            },
            "showPrice": self.show_price,
            "priceGross": self.price,
            "currency": "EUR",
            "taxRate": 19,
            "description": self.description,
            "appointmentAddressRequired": False,
            "customerAddressRequired": self.address_required,
            "customerEmailRequired": self.email_required,
            "customerMobileRequired": self.mobile_required,
            "additionalCustomerCountMax": 0,
            "bookingDayEarliest": self.day_earliest,
            "bookingDayLatest": self.day_latest,
            "bookingLeadTime": self.lead_time,
            "bookingStepList": steps,
            "extraFieldList": [],
            "timeZone": timezone,
        }


@dataclass
class Appointment:
    id: str
    template_id: str
    start: datetime
    end: datetime
    resource_id: str
    customer: dict[str, Any]
    canceled: bool = False
    moved: bool = False


@dataclass
class Organization:
    id: str
    timezone: ZoneInfo
    templates: dict[str, FakeTemplate]
    opens: time = time(9, 0)
    closes: time = time(12, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    appointments: dict[str, Appointment] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotKey:
    organization_id: str
    template_id: str
    start: datetime
    resource_id: str


class FakeBookingtime:
    """One fake bookingtime platform (auth server + Module API) with a default organization.

    ``expires_in_as_string`` answers ``"300"`` instead of ``300``; ``slot_taken_status`` is
    what booking a slot taken meanwhile answers (400 or 409: the real one is unknown);
    ``slot_list_key`` is ``list`` (class RANGE_LIST, as the vendor's SDK shows it) or
    ``bookingSlotList`` (seed 002); ``php_offsets`` writes slot offsets as the SDK's mocks do
    (``+1:00``, no leading zero), which Python's ``fromisoformat`` refuses; ``extra_slot_items``
    are appended to every slot listing as they are (a malformed item, say); ``add_bodies``
    records every ``appointment/add`` body as sent.
    """

    def __init__(
        self,
        *,
        clock: FakeClock | None = None,
        seed: int = 2,
        client_id: str = "23fakeclientid0000000000000000ab",
        refresh_lifetime: int = 1800,
        access_lifetime: int = 300,
        expires_in_as_string: bool = False,
        slot_taken_status: int = 409,
        slot_list_key: str = "list",
        php_offsets: bool = False,
    ) -> None:
        self.clock = clock or FakeClock()
        self._random = random.Random(seed)
        self.refresh_lifetime = refresh_lifetime
        self.access_lifetime = access_lifetime
        self.expires_in_as_string = expires_in_as_string
        self.slot_taken_status = slot_taken_status
        self.slot_list_key = slot_list_key
        self.php_offsets = php_offsets
        self.extra_slot_items: list[Any] = []
        self.add_bodies: list[dict[str, Any]] = []
        self.control = Control()
        self.log: list[RecordedRequest] = []
        self.tokens: dict[str, Token] = {}
        self.organizations: dict[str, Organization] = {}
        self.clients: dict[str, set[str]] = {}
        self._slot_ids: dict[SlotKey, str] = {}
        self._slots: dict[str, SlotKey] = {}

        self.client_id = client_id
        self.organization = self.add_organization()
        self.clients[client_id] = {self.organization.id}
        self.other_organization = self.add_organization()
        self.clients[client_id].add(self.other_organization.id)

    # -- set-up ----------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        alphabet = string.ascii_letters + string.digits
        return prefix + "".join(self._random.choice(alphabet) for _ in range(30))

    def add_organization(self, timezone: str = "Europe/Berlin") -> Organization:
        chair = FakeResource(self.new_id("br"), "Chair 1", "ROOM")
        anna = FakeResource(self.new_id("br"), "Anna")
        ben = FakeResource(self.new_id("br"), "Ben")
        haircut = FakeTemplate(
            id=self.new_id("fc"),
            names={"en": "Haircut", "de": "Haarschnitt", "fr": "Coupe"},
            duration=30,
            price=25.0,
            show_price=True,
            pool=[chair],
            description="Wash, cut and dry",
        )
        consultation = FakeTemplate(
            id=self.new_id("fc"),
            names={"en": "Consultation", "de": "Beratung", "fr": "Consultation"},
            duration=60,
            price=80.0,
            show_price=False,
            pool=[anna, ben],
            choice=True,
            email_required=False,
            mobile_required=True,
            address_required=True,
            day_earliest=1,
            day_latest=60,
            lead_time=0,
        )
        organization = Organization(
            id=self.new_id("f6"),
            timezone=ZoneInfo(timezone),
            templates={haircut.id: haircut, consultation.id: consultation},
        )
        self.organizations[organization.id] = organization
        return organization

    # -- tokens ----------------------------------------------------------------------------

    def issue(self, kind: Literal["refresh", "access"], client_id: str, org: str | None) -> Token:
        lifetime = self.refresh_lifetime if kind == "refresh" else self.access_lifetime
        value = "eyJ" + "".join(self._random.choice(string.ascii_letters) for _ in range(40))
        token = Token(value, kind, client_id, org, self.clock() + timedelta(seconds=lifetime))
        self.tokens[value] = token
        return token

    def valid_token(self, value: str, kind: Literal["refresh", "access"]) -> Token | None:
        token = self.tokens.get(value)
        if token is None or token.kind != kind or token.revoked:
            return None
        if self.clock() >= token.expires_at:
            return None
        return token

    def revoke(self, kind: Literal["refresh", "access"]) -> None:
        """Revoke every token of ``kind`` (the platform rotated its keys, a token leaked...)."""
        for token in self.tokens.values():
            if token.kind == kind:
                token.revoked = True

    def issued(self) -> list[str]:
        """Every token value handed out so far (canaries for "never logged")."""
        return list(self.tokens)

    # -- request log -----------------------------------------------------------------------

    def requests(self, path_contains: str = "") -> list[RecordedRequest]:
        return [r for r in self.log if path_contains in r.path]

    def grants(self, grant_type: str) -> int:
        return sum(1 for r in self.log if r.grant_type == grant_type)

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.log if r.path.startswith("/module/")]

    # -- calendar --------------------------------------------------------------------------

    def slot_id(self, key: SlotKey) -> str:
        found = self._slot_ids.get(key)
        if found is None:
            found = self.new_id("4f")
            self._slot_ids[key] = found
            self._slots[found] = key
        return found

    def slot_key(self, slot_id: str) -> SlotKey | None:
        return self._slots.get(slot_id)

    def _starts(self, org: Organization, template: FakeTemplate, day: date) -> Iterator[datetime]:
        if day.weekday() not in org.weekdays:
            return
        start = datetime.combine(day, org.opens, tzinfo=org.timezone)
        close = datetime.combine(day, org.closes, tzinfo=org.timezone)
        length = timedelta(minutes=template.duration)
        while start + length <= close:
            yield start
            start += SLOT_STEP

    def bookable(self, org: Organization, key: SlotKey, ignore: str | None = None) -> bool:
        """Whether ``key`` can be booked now (``ignore``: an appointment being moved)."""
        template = org.templates.get(key.template_id)
        if template is None or key.resource_id not in {r.id for r in template.pool}:
            return False
        now = self.clock()
        today = now.astimezone(org.timezone).date()
        day = key.start.astimezone(org.timezone).date()
        if not today + timedelta(days=template.day_earliest) <= day:
            return False
        if day > today + timedelta(days=template.horizon_days):
            return False
        if key.start < now + timedelta(minutes=template.lead_time):
            return False
        if key.start not in set(self._starts(org, template, day)):
            return False
        end = key.start + timedelta(minutes=template.duration)
        return not any(
            a.resource_id == key.resource_id and a.start < end and key.start < a.end
            for a in org.appointments.values()
            if not a.canceled and a.id != ignore
        )

    def free_slots(
        self, org: Organization, template: FakeTemplate, first: date, last: date
    ) -> list[dict[str, Any]]:
        slots = []
        day = first
        while day <= last:
            for start in self._starts(org, template, day):
                for resource in template.pool:
                    key = SlotKey(org.id, template.id, start, resource.id)
                    if self.bookable(org, key):
                        slots.append(
                            {
                                "class": "BOOKING_SLOT",
                                "id": self.slot_id(key),
                                "timestamp": self.timestamp(start),
                                "bookingResourceCombination": [resource.id],
                            }
                        )
            day += timedelta(days=1)
        return [*slots, *self.extra_slot_items] if slots else slots

    def timestamp(self, moment: datetime) -> str:
        """A slot's timestamp, ISO 8601, or PHP-style (``+1:00``) when ``php_offsets``."""
        text = moment.isoformat()
        if not self.php_offsets:
            return text
        sign, hours, minutes = text[-6], int(text[-5:-3]), text[-2:]
        return f"{text[:-6]}{sign}{hours}:{minutes}"

    def appointment_record(self, org: Organization, a: Appointment, locale: str) -> dict[str, Any]:
        template = org.templates[a.template_id]
        resource = next(r for r in template.pool if r.id == a.resource_id)
        return {
            "class": "APPOINTMENT",
            "id": a.id,
            "customId": "",
            "start": a.start.isoformat(),
            "end": a.end.isoformat(),
            "duration": template.duration,
            "timeZone": str(org.timezone),
            "name": template.name(locale),
            "customer": {"class": "CUSTOMER", **a.customer},
            "canceled": a.canceled,
            "moved": a.moved,
            "bookingResourceList": [resource.record()],
            "organizationId": org.id,
        }
