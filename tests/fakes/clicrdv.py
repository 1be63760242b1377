"""A fake ClicRDV REST API v1, an ASGI app for ``httpx.ASGITransport``.

It speaks the documented paths (``.json`` suffix), the collection envelope
(``records, totalRecords, startIndex, recordsReturned, pageSize``; 25 per page unless
``results=all``), enforces the API key (401 without, 403 with a wrong one), authenticates Accounts
with HTTP Basic or the session login (SHA1 of the password, ``_session_id`` cookie that expires on
the fake's clock), and keeps state: appointments occupy their calendar, a booked slot disappears
from ``availabletimeslots``, a cancel frees it, a second cancel is 404, two racing bookings of
one slot give one 201 and one ``NotAvailable``.

Group settings are plain attributes of :attr:`FakeClicrdv.group` (switch them per test), and
:func:`build_fake` makes the usual shapes (service-first or calendar-first, grouped or not...).
:class:`FakeControl` injects latency, 5xx, timeouts, malformed JSON and the documented 400 codes;
:attr:`FakeClicrdv.requests` records every request received.

As ClicRDV documents, the API never answers 401 for a protected resource: a request to an
Account resource without a valid session (none, expired, or one the platform dropped) is served
as the public profile, which owns nothing: lists are empty, a fiche, appointment or account id is
404, and creating a fiche or an appointment is 404 too. Services of a calendar are found the
documented way, ``interventions.json?calendar_ids[]=...``; calendar records do not list their
services.

Undocumented shapes follow the adapter's guesses (``providers/clicrdv/guesses.py``): errors as
``{"errors": [{"code", "error", "message"}]}``, field errors as ``{"errors": {field: [msg]}}``,
a failed login as 200 ``{"account": null, "error": ...}``, cancel by
``DELETE /api/v1/groups/{g}/appointments/{id}.json``, the signed-in account read back with
``GET /api/v1/accounts/{id}.json``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from providers.base import ProviderDeps
from providers.clicrdv import ClicrdvProvider
from providers.http import RetryPolicy

API_KEY = "fake-clicrdv-api-key"
TIMEZONE = ZoneInfo("Europe/Paris")
FMT = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE = 25

#: Documented 400 codes: name -> (number, message). NotAvailable's number is a guess (10).
ERROR_CODES: dict[str, tuple[int, str]] = {
    "MaxRdvNumber": (6, "The user has reached the maximum number of upcoming appointments"),
    "MintimeBetween": (7, "Another appointment is too close to this one"),
    "MaxRdvPeriod": (8, "This appointment is too far away"),
    "MintimeRdv": (9, "This appointment is too soon"),
    "NotAvailable": (10, "This time slot is not available anymore"),
    "EmailAlreadyExists": (11, "This email address is already used by another registered user."),
    "SameTimeRdv": (12, "The user already has an appointment at this time"),
    "EmailNotFound": (13, "This email address does not exists."),
}


def local_now() -> datetime:
    """Naive wall-clock time in the group's time zone."""
    return datetime.now(TIMEZONE).replace(tzinfo=None, microsecond=0)


@dataclass
class FakeGroup:
    id: int = 4
    name: str = "Salon Test"
    inactive: bool = False
    open: bool = True
    openData: bool = True
    calendarChoice: int = 2
    anyCalendar: bool = False
    validateEmail: bool = False
    display_intervention_length: bool = True
    display_intervention_price: bool = True
    max_multirdvs: int = 1


@dataclass
class FakeIntervention:
    id: int
    name: str
    length: int
    price: str
    interventionset_id: int | None = None
    calendar_ids: tuple[int, ...] = ()


@dataclass
class FakeCalendar:
    id: int
    name: str
    #: opening windows per weekday (0 = Monday)
    opening: Mapping[int, tuple[tuple[time, time], ...]] = field(
        default_factory=lambda: {d: ((time(9), time(12)), (time(14), time(18))) for d in range(6)}
    )


@dataclass
class FakeAccount:
    id: int
    email: str
    password: str
    firstname: str = ""
    lastname: str = ""


@dataclass
class FakeFiche:
    id: int
    account_id: int
    group_id: int
    firstname: str = ""
    lastname: str = ""
    firstphone: str = ""
    email: str = ""
    birthdate: str | None = None


@dataclass
class FakeAppointment:
    id: int
    fiche_id: int
    calendar_id: int
    start: datetime
    end: datetime
    intervention_ids: list[int]
    deleted: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeControl:
    """Knobs a test turns: latency, failures of the next requests, refusals of the next
    booking, and the fake's clock."""

    def __init__(self) -> None:
        self.latency_ms = 0.0
        self._failures: list[tuple[str, str | None, str | None]] = []
        self.refusals: list[str] = []
        self.offset = timedelta()
        #: Play a wrong guess of the cancel path: DELETE answers 404 as for a path the
        #: platform does not have, and cancels nothing.
        self.cancel_path_unknown = False

    def fail_next(
        self,
        mode: str,
        count: int = 1,
        *,
        path_contains: str | None = None,
        sparing: str | None = None,
    ) -> None:
        """``mode``: "unavailable" (503), "error" (500), "timeout", "malformed" (bad JSON), or
        "lost" (the request is carried out, then its answer never arrives: a timeout).
        ``path_contains``: only requests whose path contains it fail; ``sparing``: requests
        whose path contains it are served normally (and do not use up a failure)."""
        if mode not in {"unavailable", "error", "timeout", "malformed", "lost"}:
            raise ValueError(mode)
        self._failures.extend([(mode, path_contains, sparing)] * count)

    def refuse_next_booking(self, code_name: str) -> None:
        """The next appointment creation answers 400 with this documented code."""
        if code_name not in ERROR_CODES:
            raise ValueError(code_name)
        self.refusals.append(code_name)

    def take_failure(self, path: str) -> str | None:
        for index, (mode, wanted, spared) in enumerate(self._failures):
            if (wanted is None or wanted in path) and (spared is None or spared not in path):
                del self._failures[index]
                return mode
        return None

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class FakeClicrdv:
    """The fake platform: state, settings, request log and the ASGI app."""

    def __init__(
        self,
        *,
        group: FakeGroup | None = None,
        grouped: bool = False,
        clock: Callable[[], datetime] = local_now,
        session_ttl: timedelta = timedelta(minutes=30),
    ) -> None:
        self.group = group or FakeGroup()
        self.control = FakeControl()
        self._clock = clock
        self.session_ttl = session_ttl
        self.requests: list[RecordedRequest] = []
        self.interventionsets: list[dict[str, Any]] = []
        self.calendars = [FakeCalendar(15, "Alice"), FakeCalendar(16, "Bob")]
        set_cut = set_colour = None
        if grouped:
            self.interventionsets = [
                {"id": 9, "name": "Haircuts", "group_id": self.group.id},
                {"id": 10, "name": "Colour", "group_id": self.group.id},
            ]
            set_cut, set_colour = 9, 10
        self.interventions = [
            FakeIntervention(21, "Cut", 30, "25.00", set_cut, (15, 16)),
            FakeIntervention(22, "Beard", 30, "12.50", set_cut, (15, 16)),
            FakeIntervention(23, "Colour", 60, "55.00", set_colour, (15,)),
        ]
        self.accounts: dict[str, FakeAccount] = {}
        self.fiches: dict[int, FakeFiche] = {}
        self.appointments: dict[int, FakeAppointment] = {}
        self.sessions: dict[str, tuple[int, datetime]] = {}
        self._ids = itertools.count(1000)
        self.app = self._build_app()

    # -- helpers for tests ----------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock() + self.control.offset

    def add_account(self, email: str, password: str, **names: str) -> FakeAccount:
        account = FakeAccount(next(self._ids), email, password, **names)
        self.accounts[email.lower()] = account
        return account

    def add_fiche(self, account: FakeAccount, **attributes: Any) -> FakeFiche:
        fiche = FakeFiche(next(self._ids), account.id, self.group.id, **attributes)
        self.fiches[fiche.id] = fiche
        return fiche

    def count(self, path_part: str, method: str = "GET") -> int:
        """How many requests of ``method`` had ``path_part`` in their path."""
        return sum(1 for r in self.requests if r.method == method and path_part in r.path)

    def live_appointments(self) -> list[FakeAppointment]:
        return [a for a in self.appointments.values() if not a.deleted]

    # -- ASGI ----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._starlette(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.requests.append(
            RecordedRequest(
                method=scope["method"],
                path=scope["path"],
                query=parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True),
                headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
                body=body,
            )
        )
        if self.control.latency_ms:
            await asyncio.sleep(self.control.latency_ms / 1000)
        failure = self.control.take_failure(scope["path"])
        if failure == "timeout":
            # ASGITransport re-raises app exceptions: the client sees a real httpx timeout.
            raise httpx.ReadTimeout("fake ClicRDV did not answer")
        if failure in {"unavailable", "error"}:
            status = 503 if failure == "unavailable" else 500
            await Response("Service Unavailable", status_code=status)(scope, receive, send)
            return
        if failure == "malformed":
            await Response('{"records": [', media_type="application/json")(scope, receive, send)
            return

        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        if failure == "lost":

            async def swallow(_message: dict[str, Any]) -> None:
                return None

            await self._starlette(scope, replay, swallow)  # done, but nobody hears the answer
            raise httpx.ReadTimeout("fake ClicRDV did the work but its answer was lost")
        await self._starlette(scope, replay, send)

    def _build_app(self) -> Starlette:
        g = "/api/v1/groups/{gid:int}"
        self._starlette = Starlette(
            routes=[
                Route(g, self._get_group),
                Route(g + ".json", self._get_group),
                Route(g + "/interventionsets.json", self._get_sets),
                Route(g + "/interventions.json", self._get_interventions),
                Route(g + "/calendars.json", self._get_calendars),
                Route(g + "/availabletimeslots.json", self._get_slots),
                Route(g + "/fiches.json", self._fiches, methods=["GET", "POST"]),
                Route(g + "/appointments.json", self._appointments, methods=["GET", "POST"]),
                Route(g + "/appointments/{aid:int}.json", self._delete, methods=["DELETE"]),
                Route("/api/v1/accounts.json", self._post_account, methods=["POST"]),
                Route("/api/v1/accounts/{aid:int}.json", self._get_account),
                Route("/api/v1/sessions/login.json", self._login, methods=["POST"]),
            ]
        )
        return self._starlette

    # -- auth ----------------------------------------------------------------------------------
    def _apikey_refusal(self, request: Request) -> Response | None:
        key = request.query_params.get("apikey")
        if not key:
            return JSONResponse({"error": "apikey parameter is required"}, status_code=401)
        if key != API_KEY:
            return JSONResponse({"error": "invalid apikey"}, status_code=403)
        return None

    def _group_refusal(self, request: Request) -> Response | None:
        refused = self._apikey_refusal(request)
        if refused is not None:
            return refused
        if request.path_params["gid"] != self.group.id:
            return JSONResponse({"error": "Group not found"}, status_code=404)
        return None

    def _account(self, request: Request) -> FakeAccount | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                email, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            account = self.accounts.get(email.lower())
            return account if account is not None and account.password == password else None
        session = request.cookies.get("_session_id")
        if session and session in self.sessions:
            account_id, expires = self.sessions[session]
            if self.now() < expires:
                return next((a for a in self.accounts.values() if a.id == account_id), None)
            del self.sessions[session]
        return None

    # -- catalog -------------------------------------------------------------------------------
    @staticmethod
    def _collection(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
        all_results = request.query_params.get("results") == "all"
        page = items if all_results else items[:PAGE_SIZE]
        return JSONResponse(
            {
                "records": page,
                "totalRecords": len(items),
                "startIndex": 0,
                "recordsReturned": len(page),
                "pageSize": len(items) if all_results else PAGE_SIZE,
            }
        )

    async def _get_group(self, request: Request) -> Response:
        return self._group_refusal(request) or JSONResponse(asdict(self.group))

    async def _get_sets(self, request: Request) -> Response:
        return self._group_refusal(request) or self._collection(request, self.interventionsets)

    def _intervention_json(self, item: FakeIntervention) -> dict[str, Any]:
        return {
            "id": item.id,
            "group_id": self.group.id,
            "name": item.name,
            "publicname": item.name,
            "length": item.length,
            "price": item.price,
            "interventionset_id": item.interventionset_id,
        }

    async def _get_interventions(self, request: Request) -> Response:
        refused = self._group_refusal(request)
        if refused is not None:
            return refused
        wanted = request.query_params.get("interventionset_id")
        try:
            calendars = {int(v) for v in request.query_params.getlist("calendar_ids[]")}
        except ValueError:
            return self._error("Invalid parameters", status=400)
        items = [
            self._intervention_json(i)
            for i in self.interventions
            if (not wanted or str(i.interventionset_id) == wanted)
            and (not calendars or calendars & set(i.calendar_ids))
        ]
        return self._collection(request, items)

    def _calendars_offering(self, ids: list[int]) -> list[FakeCalendar]:
        chosen = [i for i in self.interventions if i.id in ids]
        return [c for c in self.calendars if all(c.id in i.calendar_ids for i in chosen)]

    async def _get_calendars(self, request: Request) -> Response:
        refused = self._group_refusal(request)
        if refused is not None:
            return refused
        ids = [int(v) for v in request.query_params.getlist("intervention_ids[]")]
        items = [
            {
                "id": c.id,
                "group_id": self.group.id,
                "name": c.name,
                "publicname": c.name,
            }
            for c in self._calendars_offering(ids)
        ]
        return self._collection(request, items)

    # -- availability --------------------------------------------------------------------------
    def _busy(self, calendar_id: int, start: datetime, end: datetime) -> bool:
        return any(
            a.calendar_id == calendar_id and a.start < end and start < a.end
            for a in self.live_appointments()
        )

    def _free_calendars(
        self, calendars: list[FakeCalendar], start: datetime, length: int
    ) -> list[int]:
        end = start + timedelta(minutes=length)
        free = []
        for calendar in calendars:
            windows = calendar.opening.get(start.weekday(), ())
            inside = any(
                datetime.combine(start.date(), a) <= start
                and end <= datetime.combine(start.date(), b)
                for a, b in windows
            )
            if inside and not self._busy(calendar.id, start, end):
                free.append(calendar.id)
        return free

    def free_starts(
        self, ids: list[int], calendar_id: int | None, first: datetime, last: datetime
    ) -> list[tuple[datetime, list[int]]]:
        """Free start times on a 30-minute grid between ``first`` and ``last``."""
        length = sum(i.length for i in self.interventions if i.id in ids)
        calendars = self._calendars_offering(ids)
        if calendar_id is not None:
            calendars = [c for c in calendars if c.id == calendar_id]
        now = self.now()
        out = []
        day = first.date()
        while day <= last.date():
            moment = datetime.combine(day, time(0))
            while moment.date() == day:
                if first <= moment <= last and moment > now:
                    free = self._free_calendars(calendars, moment, length)
                    if free:
                        out.append((moment, free))
                moment += timedelta(minutes=30)
            day += timedelta(days=1)
        return out

    async def _get_slots(self, request: Request) -> Response:
        refused = self._group_refusal(request)
        if refused is not None:
            return refused
        query = request.query_params
        try:
            ids = [int(v) for v in query.getlist("intervention_ids[]")]
            calendar = int(query["calendar_id"]) if query.get("calendar_id") else None
            start = datetime.strptime(query["start"], FMT) if "start" in query else self.now()
            if query.get("end"):
                end = datetime.strptime(query["end"], FMT)
            else:
                end = start + timedelta(days=int(query.get("nDays", 7)))
        except (KeyError, ValueError):
            return self._error("Invalid parameters", status=400)
        if not ids:
            return self._error("intervention_ids is required", status=400)
        found = self.free_starts(ids, calendar, start, end)
        return JSONResponse(
            {
                "group_id": self.group.id,
                "intervention_ids": ids,
                "calendar_id": calendar or "",
                "firstSlot": found[0][0].strftime(FMT) if found else None,
                "availabletimeslots": [
                    {"start": when.strftime(FMT), "capacity": len(cals), "calendar_ids": cals}
                    for when, cals in found
                ],
            }
        )

    # -- accounts and fiches -------------------------------------------------------------------
    @staticmethod
    def _not_found(kind: str) -> JSONResponse:
        return JSONResponse({"error": f"{kind} not found"}, status_code=404)

    async def _get_account(self, request: Request) -> Response:
        refused = self._apikey_refusal(request)
        if refused is not None:
            return refused
        account = self._account(request)
        if account is None or account.id != request.path_params["aid"]:
            return self._not_found("Account")
        return JSONResponse({"account": self._account_json(account)})

    @staticmethod
    def _account_json(account: FakeAccount) -> dict[str, Any]:
        return {
            "id": account.id,
            "email": account.email,
            "firstname": account.firstname,
            "lastname": account.lastname,
        }

    @staticmethod
    def _error(message: str, *, code: str | None = None, status: int = 400) -> JSONResponse:
        if code is None:
            return JSONResponse({"errors": [{"message": message}]}, status_code=status)
        number, text = ERROR_CODES[code]
        return JSONResponse(
            {"errors": [{"code": number, "error": code, "message": text}]}, status_code=status
        )

    async def _post_account(self, request: Request) -> Response:
        refused = self._apikey_refusal(request)
        if refused is not None:
            return refused
        data = (await request.json()).get("account", {})
        email = str(data.get("email", "")).strip()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            return JSONResponse({"errors": {"email": ["is invalid"]}}, status_code=400)
        if email.lower() in self.accounts:
            return self._error("", code="EmailAlreadyExists")
        # The platform mails a password to the new account; the fake keeps it for the tests.
        account = self.add_account(email, secrets.token_urlsafe(8))
        return JSONResponse({"id": account.id, "email": email}, status_code=201)

    async def _login(self, request: Request) -> Response:
        refused = self._apikey_refusal(request)
        if refused is not None:
            return refused
        email = request.query_params.get("account[email]", "").lower()
        hashed = request.query_params.get("account[password]", "")
        account = self.accounts.get(email)
        if (
            account is None
            or hashlib.sha1(account.password.encode(), usedforsecurity=False).hexdigest() != hashed
        ):
            return JSONResponse({"account": None, "error": "Invalid email or password"})
        session = secrets.token_hex(16)
        self.sessions[session] = (account.id, self.now() + self.session_ttl)
        response = JSONResponse({"account": self._account_json(account), "error": None})
        response.set_cookie("_session_id", session, httponly=True)
        return response

    def _fiche_json(self, fiche: FakeFiche) -> dict[str, Any]:
        data = asdict(fiche)
        data.pop("account_id")
        return data

    async def _fiches(self, request: Request) -> Response:
        refused = self._group_refusal(request)
        if refused is not None:
            return refused
        account = self._account(request)
        if account is None:
            # The public profile: no fiches to list, none to create (and never a 401).
            if request.method == "POST":
                return self._not_found("Account")
            return self._collection(request, [])
        if request.method == "POST":
            data = (await request.json()).get("fiche", {})
            invalid = self._fiche_errors(data)
            if invalid:
                return JSONResponse({"errors": invalid}, status_code=400)
            fiche = self.add_fiche(account, **self._fiche_attributes(data))
            return JSONResponse(self._fiche_json(fiche), status_code=201)
        mine = [
            self._fiche_json(f)
            for f in self.fiches.values()
            if f.account_id == account.id and f.group_id == self.group.id
        ]
        return self._collection(request, mine)

    @staticmethod
    def _fiche_attributes(data: Mapping[str, Any]) -> dict[str, Any]:
        names = ("firstname", "lastname", "firstphone", "email", "birthdate")
        return {k: data[k] for k in names if data.get(k) is not None}

    @staticmethod
    def _fiche_errors(data: Mapping[str, Any], *, new: bool = True) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        limits = {"firstname": 64, "lastname": 64, "firstphone": 25, "email": 255}
        for name, limit in limits.items():
            if len(str(data.get(name) or "")) > limit:
                errors[name] = [f"is too long (maximum is {limit} characters)"]
        if new and not data.get("lastname"):
            errors["lastname"] = ["can't be blank"]
        email = data.get("email")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            errors["email"] = ["is invalid"]
        return errors

    # -- appointments --------------------------------------------------------------------------
    def _appointment_json(self, appointment: FakeAppointment) -> dict[str, Any]:
        names = [i.name for i in self.interventions if i.id in appointment.intervention_ids]
        return {
            "id": appointment.id,
            "group_id": self.group.id,
            "fiche_id": appointment.fiche_id,
            "calendar_id": appointment.calendar_id,
            "intervention_ids": appointment.intervention_ids,
            "start": appointment.start.strftime(FMT),
            "end": appointment.end.strftime(FMT),
            "title": ", ".join(names),
        }

    async def _appointments(self, request: Request) -> Response:
        refused = self._group_refusal(request)
        if refused is not None:
            return refused
        account = self._account(request)
        if account is None:
            # The public profile sees no appointments and books for no fiche (never a 401).
            if request.method == "POST":
                return self._not_found("Fiche")
            return self._collection(request, [])
        mine = {f.id for f in self.fiches.values() if f.account_id == account.id}
        if request.method == "GET":
            items = [
                self._appointment_json(a)
                for a in sorted(self.live_appointments(), key=lambda a: a.start)
                if a.fiche_id in mine
            ]
            return self._collection(request, items)
        try:
            data = (await request.json())["appointment"]
            start = datetime.strptime(data["date"], FMT)
            ids = [int(i) for i in data["intervention_ids"]]
        except (KeyError, TypeError, ValueError):
            return self._error("Invalid appointment")
        # Everything below runs without an await: two racing requests are served one at a time.
        return self._create_appointment(account, mine, data, start, ids)

    def _create_appointment(
        self,
        account: FakeAccount,
        mine: set[int],
        data: Mapping[str, Any],
        start: datetime,
        ids: list[int],
    ) -> Response:
        if self.control.refusals:
            return self._error("", code=self.control.refusals.pop(0))
        if not ids or any(i not in {x.id for x in self.interventions} for i in ids):
            return self._error("Unknown intervention")
        if self.group.inactive or not self.group.open:
            return self._error("This group does not take appointments online")
        fiche_data = data.get("fiche") or {}
        fiche_id = fiche_data.get("id")
        if fiche_id is not None and int(fiche_id) not in mine:
            return JSONResponse({"error": "Fiche not found"}, status_code=404)
        invalid = self._fiche_errors(fiche_data, new=fiche_id is None)
        if invalid:
            return JSONResponse({"errors": invalid}, status_code=400)
        email = str(fiche_data.get("email") or "").lower()
        owner = self.accounts.get(email)
        if fiche_id is None and owner is not None and owner.id != account.id:
            return self._error("", code="EmailAlreadyExists")
        length = sum(i.length for i in self.interventions if i.id in ids)
        end = start + timedelta(minutes=length)
        wanted = int(data["calendar_id"]) if data.get("calendar_id") else None
        candidates = self._calendars_offering(ids)
        if wanted is not None:
            candidates = [c for c in candidates if c.id == wanted]
        free = self._free_calendars(candidates, start, length) if start > self.now() else []
        if not free:
            return self._error("", code="NotAvailable")
        if any(
            a.fiche_id in mine and a.start < end and start < a.end for a in self.live_appointments()
        ):
            return self._error("", code="SameTimeRdv")
        if fiche_id is None:
            fiche = self.add_fiche(account, **self._fiche_attributes(fiche_data))
        else:
            fiche = self.fiches[int(fiche_id)]
            for key, value in self._fiche_attributes(fiche_data).items():
                setattr(fiche, key, value)
        appointment = FakeAppointment(next(self._ids), fiche.id, free[0], start, end, ids)
        self.appointments[appointment.id] = appointment
        return JSONResponse(self._appointment_json(appointment), status_code=201)

    async def _delete(self, request: Request) -> Response:
        refused = self._group_refusal(request)
        if refused is not None:
            return refused
        if self.control.cancel_path_unknown:
            return Response("Not Found", status_code=404, media_type="text/html")
        account = self._account(request)
        if account is None:
            return self._not_found("Appointment")  # the public profile owns none (never a 401)
        appointment = self.appointments.get(request.path_params["aid"])
        mine = {f.id for f in self.fiches.values() if f.account_id == account.id}
        if appointment is None or appointment.deleted or appointment.fiche_id not in mine:
            return JSONResponse({"error": "Appointment not found"}, status_code=404)
        appointment.deleted = True
        return JSONResponse({"id": appointment.id, "deleted": True})


#: The adapter's read-back of the signed-in account (see ``providers/clicrdv/client.py``).
ACCOUNT_READ_BACK = "/api/v1/accounts/"


def build_fake(
    *,
    service_first: bool = True,
    grouped: bool = False,
    any_calendar: bool = False,
    max_multirdvs: int = 1,
    display_length: bool = True,
    display_price: bool = True,
    inactive: bool = False,
    open: bool = True,
    clock: Callable[[], datetime] = local_now,
) -> FakeClicrdv:
    """A fake group with the given settings and two calendars, three services."""
    group = FakeGroup(
        calendarChoice=2 if service_first else 1,
        anyCalendar=any_calendar,
        max_multirdvs=max_multirdvs,
        display_intervention_length=display_length,
        display_intervention_price=display_price,
        inactive=inactive,
        open=open,
    )
    return FakeClicrdv(group=group, grouped=grouped, clock=clock)


def make_provider(
    fake: FakeClicrdv,
    *,
    settings: Mapping[str, Any] | None = None,
    fast_retries: bool = True,
) -> ClicrdvProvider:
    """The adapter wired to ``fake`` through ``httpx.ASGITransport`` (no network)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), timeout=5.0)
    deps = ProviderDeps(
        business_slug="salon-test",
        timezone=TIMEZONE,
        settings={
            "group_id": fake.group.id,
            "base_url": "https://sandbox.clicrdv.test",
            "api_key_env": "CLICRDV_TEST_KEY",
            "catalog_ttl_seconds": 300,
            **(settings or {}),
        },
        secrets={"CLICRDV_TEST_KEY": API_KEY},
        http=http,
    )
    retry = RetryPolicy(attempts=3, first_delay=0.001) if fast_retries else None
    return ClicrdvProvider(deps, retry=retry)
