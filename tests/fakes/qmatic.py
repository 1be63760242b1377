"""A stand-in for Qmatic Cloud Appointments ("external/v1"), reached through httpx.

It speaks the documented paths and bodies (and, where Qmatic documents nothing, the same guesses
as :mod:`providers.qmatic.api`), and behaves like the platform on the points that break clients:

* auth: ``POST /oauth2/token`` wants ``X-ACCOUNT`` and Basic credentials and grants only the
  documented scopes; API calls want a live bearer token (it expires on the injectable clock),
  the scope of the operation and ``X-TENANT-ID``; service calls want ``Accept-Language``;
* state: reservations block their slot and expire after 15 minutes on the clock, a confirmed
  reservation becomes an appointment, cancellations stick, two racing reservations of one slot
  get one 201 and one 409;
* misbehaviour on request (:class:`FakeControl`): latency, 503, 500, timeouts, malformed JSON;
* what the API document leaves open, both ways: ``reservation_replies`` and
  ``confirmation_replies`` say what the 201 of a reservation or of its confirmation carries
  (``"full"``, ``"location"``: no body but a ``Location`` header, ``"empty"``: nothing at all,
  which is all the document promises);
  ``error_style="orchestra"`` answers errors as Orchestra does (``error_code`` and
  ``error_message`` headers, a ``{"msg": ...}`` body); ``naive_times`` writes times without an
  offset, in the branch's zone (``branch_zones``), which branches then name in ``timeZone``;
* a request log (:attr:`QmaticFake.requests`) and :meth:`QmaticFake.live_reservations` so tests
  can count round trips and prove that no hold is left behind.

Use ``httpx.AsyncClient(transport=fake.transport(), base_url=...)``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

SCOPE_BOOK = "com.qmatic.saas.appointments/external.appointment.book"
SCOPE_RESCHEDULE = "com.qmatic.saas.appointments/external.appointment.reschedule"
SCOPE_CANCEL = "com.qmatic.saas.appointments/external.appointment.cancel"
ALL_SCOPES = frozenset({SCOPE_BOOK, SCOPE_RESCHEDULE, SCOPE_CANCEL})
LANGUAGES = ("en_US", "en_UK", "fr_FR", "nl_NL", "de_DE", "it_IT", "ES_es")
PREFIX = "/external/v1"
PERSONAL_ID = re.compile(r"[A-Za-z0-9]{10,48}")
HOLD = timedelta(minutes=15)


class FakeClock:
    """A settable clock shared by the fake and the adapter (``deps.clock``)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Brussels

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeControl:
    """Failure injection: ``fail_next("unavailable"|"error"|"timeout"|"malformed", count)``."""

    def __init__(self) -> None:
        self.latency_ms = 0.0
        self._failures: list[str] = []

    def fail_next(self, mode: str, count: int = 1) -> None:
        assert mode in {"unavailable", "error", "timeout", "malformed"}, mode
        self._failures += [mode] * count

    def take(self) -> str | None:
        return self._failures.pop(0) if self._failures else None

    def take_all(self) -> None:
        """Forget the failures still planned (the platform is back)."""
        self._failures.clear()


class InjectedTimeout(Exception):
    """Raised by the app so the transport turns it into the client's ``httpx.ReadTimeout``."""


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class FakeService:
    id: str
    names: Mapping[str, str]
    minutes: int
    branches: tuple[str, ...]
    max_reservations: int = 1
    online_bookable: bool = True
    resources: tuple[tuple[str, str], ...] = ()
    screening: tuple[Mapping[str, Any], ...] = ()
    information: tuple[Mapping[str, Any], ...] = ()
    description: str = ""

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en_US"]


@dataclass
class Reservation:
    id: str
    service_id: str
    branch_id: str
    resource: str
    start: datetime
    end: datetime
    count: int
    expires_at: datetime


@dataclass
class Appointment:
    id: str
    service_id: str
    branch_id: str
    resource: str
    start: datetime
    end: datetime
    count: int
    customer: dict[str, Any]
    answers: list[Any] = field(default_factory=list)
    cancelled: bool = False


BRANCHES: dict[str, dict[str, Any]] = {
    "b-city": {
        "id": "b-city",
        "name": "City Hall",
        "address": {"streetName": "Grand Place 1", "zipCode": "1000", "city": "Brussels"},
    },
    "b-north": {
        "id": "b-north",
        "name": "North Office",
        "address": {"streetName": "Noordstraat 5", "zipCode": "1030", "city": "Brussels"},
    },
}


def default_services() -> list[FakeService]:
    return [
        FakeService(
            "svc-passport",
            {"en_US": "Passport", "fr_FR": "Passeport", "nl_NL": "Paspoort", "de_DE": "Reisepass"},
            30,
            ("b-city", "b-north"),
            max_reservations=3,
            screening=(
                {
                    "yesRequiredAnswer": True,
                    "questionText": "Do you have your old passport with you?",
                    "clarificationText": "We keep the old one.",
                    "answerDeniedMessage": "Please bring your old passport and book again.",
                },
            ),
            information=(
                {
                    "required": True,
                    "questionText": "Why do you need a new passport?",
                    "clarificationText": "Lost, expired, full...",
                },
            ),
            description="New or renewed passports",
        ),
        FakeService("svc-idcard", {"en_US": "Identity card"}, 15, ("b-city",)),
        FakeService(
            "svc-building",
            {"en_US": "Building consultation", "fr_FR": "Conseil en urbanisme"},
            60,
            ("b-city",),
            resources=(("r-anna", "Anna"), ("r-bob", "Bob")),
            screening=(
                {
                    "yesRequiredAnswer": False,
                    "questionText": "Is this your first consultation?",
                    "clarificationText": "",
                    "answerDeniedMessage": "",
                },
            ),
        ),
        FakeService(
            "svc-internal", {"en_US": "Internal review"}, 30, ("b-city",), online_bookable=False
        ),
        FakeService("svc-parking", {"en_US": "Parking permit"}, 20, ("b-north",)),
    ]


DEFAULT_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("g-docs", "Documents", ("svc-passport", "svc-idcard")),
    ("g-build", "Building", ("svc-building", "svc-internal")),
]


class QmaticFake:
    """The fake platform: an ASGI app plus the state and knobs tests use."""

    def __init__(
        self,
        *,
        clock: FakeClock | None = None,
        account: str = "brusselscity",
        tenant_id: str = "tenant-0001",
        client_id: str = "client-abc",
        client_secret: str = "s3cr3t-client-value",  # noqa: S107 (a fake's credential)
        timezone: str = "Europe/Brussels",
        services: list[FakeService] | None = None,
        groups: list[tuple[str, str, tuple[str, ...]]] | None = None,
        groups_enabled: bool = True,
        supported_languages: tuple[str, ...] = LANGUAGES,
        birth_date_required: bool = False,
        open_hours: tuple[time, time] = (time(9), time(12)),
        horizon_days: int = 60,
        reservation_replies: str = "full",
        confirmation_replies: str = "full",
        error_style: str = "qmatic",
        naive_times: bool = False,
        branch_zones: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock or FakeClock()
        self.account, self.tenant_id = account, tenant_id
        self.client_id, self.client_secret = client_id, client_secret
        self.tz = ZoneInfo(timezone)
        self.services = {s.id: s for s in (services or default_services())}
        self.groups = DEFAULT_GROUPS if groups is None else groups
        self.groups_enabled = groups_enabled
        self.supported_languages = supported_languages
        self.birth_date_required = birth_date_required
        self.open_hours = open_hours
        self.horizon_days = horizon_days
        replies = {"full", "location", "empty"}
        assert {reservation_replies, confirmation_replies} <= replies
        assert error_style in {"qmatic", "orchestra"}, error_style
        self.reservation_replies = reservation_replies
        self.confirmation_replies = confirmation_replies
        self.error_style = error_style
        self.naive_times = naive_times
        self.branch_zones = {b: ZoneInfo(z) for b, z in (branch_zones or {}).items()}
        self.control = FakeControl()
        self.requests: list[RecordedRequest] = []
        self.tokens: dict[str, tuple[datetime, frozenset[str]]] = {}
        self.tokens_issued = 0
        self.reservations: dict[str, Reservation] = {}
        self.appointments: dict[str, Appointment] = {}
        self._router = Router(
            routes=[
                Route("/oauth2/token", self._token, methods=["POST"]),
                Route(PREFIX + "/services", self._services, methods=["GET"]),
                Route(PREFIX + "/services/groups", self._groups, methods=["GET"]),
                Route(PREFIX + "/services/{service_id}", self._service, methods=["GET"]),
                Route(
                    PREFIX + "/services/{service_id}/timeslots", self._timeslots, methods=["GET"]
                ),
                Route(PREFIX + "/reservations", self._reserve, methods=["POST"]),
                Route(PREFIX + "/reservations/{rid}", self._confirm, methods=["PUT"]),
                Route(PREFIX + "/reservations/{rid}", self._release, methods=["DELETE"]),
                Route(PREFIX + "/appointments/search", self._search, methods=["POST"]),
                Route(PREFIX + "/appointments/{aid}", self._cancel, methods=["DELETE"]),
                Route(PREFIX + "/appointments/{aid}/customer", self._customer, methods=["PUT"]),
                Route(PREFIX + "/appointments/{aid}/reschedule", self._reschedule, methods=["PUT"]),
            ]
        )

    # -- test helpers ----------------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        return _FakeTransport(self)

    def client(self, base_url: str = "https://api.eu.qmatic.io") -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport(), base_url=base_url)

    def live_reservations(self) -> list[Reservation]:
        """Unconfirmed reservations that still block their slot."""
        now = self.clock()
        return [r for r in self.reservations.values() if r.expires_at > now]

    def active_appointments(self) -> list[Appointment]:
        return [a for a in self.appointments.values() if not a.cancelled]

    def api_requests(self, method: str | None = None, path_part: str = "") -> list[RecordedRequest]:
        """Requests other than token requests (optionally one method and path fragment)."""
        return [
            r
            for r in self.requests
            if r.path.startswith(PREFIX)
            and (method is None or r.method == method)
            and path_part in r.path
        ]

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    # -- ASGI ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._router(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.requests.append(RecordedRequest(scope["method"], scope["path"], query, headers, body))
        if self.control.latency_ms:
            await asyncio.sleep(self.control.latency_ms / 1000)
        failure = self.control.take()
        if failure == "timeout":
            raise InjectedTimeout
        if failure == "unavailable":
            await self._error(503, "service.unavailable", "Service Unavailable")(
                scope, receive, send
            )
            return
        if failure == "error":
            await self._error(500, "internal.error", "Internal Server Error")(scope, receive, send)
            return
        if failure == "malformed":
            await Response(b'{"oops": [', 200, media_type="application/json")(scope, receive, send)
            return

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            # Handlers never await between checking a slot and taking it, so racing requests
            # are served one after the other: one wins, the other gets 409.
            await self._router(scope, replay, send)
        except _Refusal as refusal:
            await self._error(refusal.status, refusal.code, refusal.message, refusal.field)(
                scope, receive, send
            )

    def _error(
        self, status: int, code: str, message: str, field: str | None = None
    ) -> JSONResponse:
        if self.error_style == "orchestra":
            headers = {"error_code": code, "error_message": message}
            return JSONResponse({"msg": message}, status, headers=headers)
        return _error(status, code, message, field)

    def zone(self, branch_id: str) -> ZoneInfo:
        """The branch's time zone (the tenant's unless ``branch_zones`` says otherwise)."""
        return self.branch_zones.get(branch_id, self.tz)

    def time_text(self, moment: datetime, branch_id: str) -> str:
        """A time as the platform writes it: ISO 8601 with offset, or naive in the branch's
        zone (``naive_times``)."""
        if self.naive_times:
            return moment.astimezone(self.zone(branch_id)).replace(tzinfo=None).isoformat()
        return moment.isoformat()

    def read_time(self, text: str, branch_id: str) -> datetime:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone(branch_id))

    @staticmethod
    def created(body: dict[str, Any], location: str, replies: str) -> Response:
        """A 201 as ``replies`` says: the body, only a Location header, or nothing."""
        if replies == "full":
            return JSONResponse(body, 201)
        if replies == "location":
            return Response(status_code=201, headers={"Location": PREFIX + location})
        return Response(status_code=201)

    # -- auth ----------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        if request.headers.get("x-account") != self.account:
            return JSONResponse({"error": "invalid_request"}, 400)
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, 401)
        form = parse_qs((await request.body()).decode())
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        scopes = frozenset(" ".join(form.get("scope", [])).split()) or ALL_SCOPES
        if not scopes <= ALL_SCOPES:
            return JSONResponse({"error": "invalid_scope"}, 400)
        token = uuid.uuid4().hex
        self.tokens[token] = (self.clock() + timedelta(seconds=3600), scopes)
        self.tokens_issued += 1
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _authorize(self, request: Request, scope: str) -> None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        grant = self.tokens.get(token)
        if grant is None or grant[0] <= self.clock():
            raise _Refusal(401, "unauthorized", "Full authentication is required")
        if scope not in grant[1]:
            raise _Refusal(403, "forbidden", "Insufficient scope")
        if not request.headers.get("x-tenant-id"):
            raise _Refusal(400, "tenant.missing", "X-TENANT-ID header is required")
        if request.headers["x-tenant-id"] != self.tenant_id:
            raise _Refusal(403, "tenant.unknown", "Unknown tenant")

    def _language(self, request: Request) -> str:
        language = request.headers.get("accept-language")
        if not language:
            raise _Refusal(400, "language.missing", "Accept-Language header is required")
        # A language the tenant does not support falls back to its first one.
        return language if language in self.supported_languages else self.supported_languages[0]

    # -- catalog -------------------------------------------------------------------------------

    def _branch(self, branch_id: str) -> dict[str, Any]:
        branch = dict(BRANCHES[branch_id])
        if branch_id in self.branch_zones:
            branch["timeZone"] = str(self.branch_zones[branch_id])
        return branch

    def _row(self, service: FakeService, branch_id: str, language: str) -> dict[str, Any]:
        return {
            "branch": self._branch(branch_id),
            "service": {
                "id": service.id,
                "name": service.name(language),
                "config": {
                    "maxNumberOfReservations": service.max_reservations,
                    "onlineBookable": service.online_bookable,
                },
            },
            "resourceSelection": {
                "required": bool(service.resources),
                "availableResources": [{"id": i, "name": n} for i, n in service.resources],
            },
            "informationQuestions": list(service.information),
            "screeningQuestions": list(service.screening),
        }

    async def _services(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        language = self._language(request)
        rows = [self._row(s, b, language) for s in self.services.values() for b in s.branches]
        return JSONResponse(rows)

    async def _groups(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        language = self._language(request)
        if not self.groups_enabled:
            raise _Refusal(404, "serviceGroups.notConfigured", "No service groups configured")

        def entry(s: FakeService, index: int) -> dict[str, Any]:
            return {
                "id": s.id,
                "name": s.name(language),
                "index": index,
                "externalDescription": s.description,
                "onlineBookable": s.online_bookable,
            }

        grouped = {sid for _, _, ids in self.groups for sid in ids}
        return JSONResponse(
            {
                "services": [
                    entry(s, i) for i, s in enumerate(self.services.values()) if s.id not in grouped
                ],
                "serviceGroups": [
                    {
                        "id": gid,
                        "name": name,
                        "index": gi,
                        "services": [entry(self.services[s], i) for i, s in enumerate(ids)],
                    }
                    for gi, (gid, name, ids) in enumerate(self.groups)
                ],
            }
        )

    async def _service(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        language = self._language(request)
        service = self._get_service(request.path_params["service_id"])
        rows = []
        for b in service.branches:
            row = self._row(service, b, language)
            rows.append({"branch": row["branch"], "resourceSelection": row["resourceSelection"]})
        return JSONResponse(rows)

    def _get_service(self, service_id: str) -> FakeService:
        service = self.services.get(service_id)
        if service is None:
            raise _Refusal(404, "service.notFound", "Service not found")
        return service

    # -- availability --------------------------------------------------------------------------

    def _pool(self, service: FakeService) -> list[str]:
        # Services without resources have one virtual resource of their own: one per slot.
        return [r for r, _ in service.resources] or [f"pool:{service.id}"]

    def _busy(self, branch_id: str, resource: str, start: datetime, end: datetime) -> bool:
        now = self.clock()
        taken = [
            (r.start, r.end)
            for r in self.reservations.values()
            if r.expires_at > now and r.branch_id == branch_id and r.resource == resource
        ] + [
            (a.start, a.end)
            for a in self.appointments.values()
            if not a.cancelled and a.branch_id == branch_id and a.resource == resource
        ]
        return any(s < end and start < e for s, e in taken)

    def _free_resource(
        self, service: FakeService, branch_id: str, wanted: str | None, start: datetime, count: int
    ) -> str | None:
        end = start + timedelta(minutes=service.minutes * count)
        for resource in [wanted] if wanted else self._pool(service):
            if not self._busy(branch_id, resource, start, end):
                return resource
        return None

    def _starts(
        self, service: FakeService, branch_id: str, first: date, last: date, count: int
    ) -> list[datetime]:
        zone = self.zone(branch_id)
        today = self.clock().astimezone(zone).date()
        first = max(first, today)
        last = min(last, today + timedelta(days=self.horizon_days))
        starts: list[datetime] = []
        day = first
        while day <= last:
            if day.weekday() < 5:
                at = datetime.combine(day, self.open_hours[0], zone)
                close = datetime.combine(day, self.open_hours[1], zone)
                while at + timedelta(minutes=service.minutes * count) <= close:
                    if at > self.clock():
                        starts.append(at)
                    at += timedelta(minutes=service.minutes)
            day += timedelta(days=1)
        return starts

    def _offering(self, service_id: str, branch_id: str | None) -> FakeService:
        service = self._get_service(service_id)
        if branch_id not in service.branches:
            raise _Refusal(400, "branch.invalid", "The service is not offered at this branch")
        return service

    def _count(self, service: FakeService, raw: Any) -> int:
        try:
            count = int(raw)
        except (TypeError, ValueError):
            raise _Refusal(400, "validation.invalidField", "numberOfReservations") from None
        if not 1 <= count <= service.max_reservations:
            raise _Refusal(400, "validation.invalidField", "Too many reservations")
        return count

    async def _timeslots(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        q = request.query_params
        service = self._offering(request.path_params["service_id"], q.get("branchId"))
        count = self._count(service, q.get("numberOfReservations"))
        wanted = q.get("requestedResourceId")
        if wanted and wanted not in self._pool(service):
            raise _Refusal(400, "resource.invalid", "Unknown resource")
        today = self.today()
        first = date.fromisoformat(q["fromDate"]) if "fromDate" in q else today
        last = date.fromisoformat(q["toDate"]) if "toDate" in q else today + timedelta(days=30)
        items = []
        branch = q["branchId"]
        for start in self._starts(service, branch, first, last, count):
            if self._free_resource(service, branch, wanted, start, count):
                end = start + timedelta(minutes=service.minutes * count)
                items.append(
                    {
                        "startTime": self.time_text(start, branch),
                        "endTime": self.time_text(end, branch),
                    }
                )
        return JSONResponse(items)

    # -- reservations --------------------------------------------------------------------------

    async def _reserve(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        body = await request.json()
        service = self._offering(str(body.get("serviceId")), body.get("branchId"))
        if not service.online_bookable:
            raise _Refusal(400, "service.notBookable", "The service is not bookable online")
        count = self._count(service, body.get("numberOfReservations", 1))
        try:
            start = self.read_time(body["timeslot"]["startTime"], body["branchId"])
            end = self.read_time(body["timeslot"]["endTime"], body["branchId"])
        except (KeyError, TypeError, ValueError):
            raise _Refusal(400, "validation.invalidField", "timeslot", "timeslot") from None
        wanted = body.get("requestedResourceId")
        if wanted and wanted not in self._pool(service):
            raise _Refusal(400, "resource.invalid", "Unknown resource")
        day = start.astimezone(self.zone(body["branchId"])).date()
        valid = self._starts(service, body["branchId"], day, day, count)
        if start not in valid or end != start + timedelta(minutes=service.minutes * count):
            raise _Refusal(409, "timeslot.notAvailable", "The timeslot is not available")
        resource = self._free_resource(service, body["branchId"], wanted, start, count)
        if resource is None:
            raise _Refusal(409, "timeslot.notAvailable", "The timeslot is not available")
        reservation = Reservation(
            uuid.uuid4().hex,
            service.id,
            body["branchId"],
            resource,
            start,
            end,
            count,
            self.clock() + HOLD,
        )
        self.reservations[reservation.id] = reservation
        return self.created(
            {
                "reservationId": reservation.id,
                "serviceId": service.id,
                "branchId": reservation.branch_id,
                "timeslot": body["timeslot"],
                "numberOfReservations": count,
            },
            f"/reservations/{reservation.id}",
            self.reservation_replies,
        )

    def _live_reservation(self, rid: str) -> Reservation:
        reservation = self.reservations.get(rid)
        if reservation is None:
            raise _Refusal(404, "reservation.notFound", "Reservation not found")
        if reservation.expires_at <= self.clock():
            del self.reservations[rid]
            raise _Refusal(410, "reservation.expired", "The reservation has expired")
        return reservation

    def _check_customer(self, body: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
        def invalid(name: str, text: str) -> _Refusal:
            return _Refusal(400, "validation.invalidField", text, name)

        if full and not PERSONAL_ID.fullmatch(str(body.get("personalIdentifier") or "")):
            raise invalid("personalIdentifier", "Must contain 10-48 characters A-Za-z0-9")
        for name in ("firstName", "lastName"):
            value = body.get(name)
            if not isinstance(value, str) or not 1 <= len(value) <= 255:
                raise invalid(name, f"{name} must be 1-255 characters")
        if full and not (isinstance(body.get("email"), str) and 1 <= len(body["email"]) <= 255):
            raise invalid("email", "email must be 1-255 characters")
        if self.birth_date_required and not body.get("dateOfBirth"):
            raise invalid("dateOfBirth", "Date of birth is required")
        return {
            k: body.get(k)
            for k in ("personalIdentifier", "firstName", "lastName", "email", "phoneNumber")
        } | {"dateOfBirth": body.get("dateOfBirth")}

    async def _confirm(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        body = await request.json()
        reservation = self._live_reservation(request.path_params["rid"])
        customer = self._check_customer(body, full=True)
        answers = body.get("informationQuestions") or []
        service = self.services[reservation.service_id]
        given = {a.get("questionText"): a.get("answer") for a in answers}
        for q in service.information:
            answer = given.get(q["questionText"]) or ""
            if q.get("required") and not answer:
                raise _Refusal(
                    400, "validation.invalidField", "Answer required", "informationQuestions"
                )
            if len(answer) > 2048:
                raise _Refusal(400, "validation.invalidField", "Answer too long", "answer")
        del self.reservations[reservation.id]
        appointment = Appointment(
            uuid.uuid4().hex,
            reservation.service_id,
            reservation.branch_id,
            reservation.resource,
            reservation.start,
            reservation.end,
            reservation.count,
            customer,
            answers,
        )
        self.appointments[appointment.id] = appointment
        return self.created(
            self._appointment_json(appointment, self._language(request)),
            f"/appointments/{appointment.id}",
            self.confirmation_replies,
        )

    async def _release(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        self._live_reservation(request.path_params["rid"])
        del self.reservations[request.path_params["rid"]]
        return Response(status_code=204)

    # -- appointments --------------------------------------------------------------------------

    def _appointment_json(self, a: Appointment, language: str) -> dict[str, Any]:
        service = self.services[a.service_id]
        return {
            "appointmentId": a.id,
            "timeSlot": {
                "startTime": self.time_text(a.start, a.branch_id),
                "endTime": self.time_text(a.end, a.branch_id),
            },
            "customer": a.customer,
            "service": {"id": service.id, "name": service.name(language)},
            "branch": {"id": a.branch_id, "name": BRANCHES[a.branch_id]["name"]},
            "numberOfReservations": a.count,
        }

    def _active(self, aid: str) -> Appointment:
        appointment = self.appointments.get(aid)
        if appointment is None or appointment.cancelled:
            raise _Refusal(404, "appointment.notFound", "Appointment not found")
        return appointment

    async def _search(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        body = await request.json()
        wanted = ((body or {}).get("customer") or {}).get("personalIdentifier")
        if not wanted:
            raise _Refusal(400, "validation.invalidField", "Required", "personalIdentifier")
        language = self._language(request)
        return JSONResponse(
            [
                self._appointment_json(a, language)
                for a in self.active_appointments()
                if a.customer.get("personalIdentifier") == wanted
            ]
        )

    async def _cancel(self, request: Request) -> Response:
        self._authorize(request, SCOPE_CANCEL)
        self._active(request.path_params["aid"]).cancelled = True
        return Response(status_code=204)

    async def _customer(self, request: Request) -> Response:
        self._authorize(request, SCOPE_BOOK)
        appointment = self._active(request.path_params["aid"])
        body = await request.json()
        changes = self._check_customer(body, full=False)
        appointment.customer.update({k: v for k, v in changes.items() if v is not None})
        return Response(status_code=204)

    async def _reschedule(self, request: Request) -> Response:
        self._authorize(request, SCOPE_RESCHEDULE)
        appointment = self._active(request.path_params["aid"])
        body = await request.json()
        reservation = self._live_reservation(str((body or {}).get("reservationId")))
        if reservation.service_id != appointment.service_id:
            raise _Refusal(400, "appointment.serviceCannotChange", "The service cannot change")
        del self.reservations[reservation.id]
        appointment.branch_id = reservation.branch_id
        appointment.resource = reservation.resource
        appointment.start, appointment.end = reservation.start, reservation.end
        appointment.count = reservation.count
        language = request.headers.get("accept-language") or "en_US"
        return JSONResponse(self._appointment_json(appointment, language))


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"errorCode": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status)


class _FakeTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` to the fake, turning an injected timeout into a real client one."""

    def __init__(self, fake: QmaticFake) -> None:
        self._inner = httpx.ASGITransport(app=fake)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except InjectedTimeout:
            raise httpx.ReadTimeout("injected timeout", request=request) from None
