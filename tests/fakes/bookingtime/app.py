"""The HTTP side of the fake bookingtime platform (Starlette), serving both hosts:

* ``POST /oauth/token`` (auth.bookingtime.com): form or JSON body; ``client_credentials`` ->
  refresh token, ``refresh_token`` + ``organization_id`` -> organization-bound access token;
  OAuth2 error bodies (``invalid_client``, ``invalid_grant``, ``access_denied``).
* ``/module/v3/{locale}/organization/{orgId}/...`` (api.bookingtime.com): the documented paths,
  answers in the ``{"messageList": [...], "content": ...}`` envelope, Bearer token required and
  checked against the organization in the path.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# One list of locales for the adapter and the fake: the platform's is not published.
from providers.bookingtime.api import SUPPORTED_LOCALES
from tests.fakes.bookingtime.state import (
    Appointment,
    FakeBookingtime,
    FakeTemplate,
    Organization,
    RecordedRequest,
    SlotKey,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
API = re.compile(r"^/module/v3/(?P<locale>[^/]+)/organization/(?P<org>[^/]+)/(?P<rest>.*)$")


def message(type_: str, text: str, parameter: str | None = None) -> dict[str, Any]:
    return {"class": "MESSAGE", "type": type_, "parameter": parameter, "text": text}


def envelope(
    status: int, content: Any = None, messages: list[dict[str, Any]] | None = None
) -> JSONResponse:
    return JSONResponse({"messageList": messages or [], "content": content}, status_code=status)


def failure(
    status: int, text: str, parameter: str | None = None, type_: str = "failure"
) -> JSONResponse:
    return envelope(status, None, [message(type_, text, parameter)])


Handler = Callable[[Request, re.Match[str], Organization, str], Awaitable[Response]]


class FakeBookingtimeApp:
    """Routes requests to a :class:`FakeBookingtime`; applies latency and injected failures."""

    def __init__(self, fake: FakeBookingtime) -> None:
        self.fake = fake
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"^bookingTemplate/list$"), self.template_list),
            ("GET", re.compile(r"^bookingTemplate/(?P<tpl>\w+)/show$"), self.template_show),
            (
                "GET",
                re.compile(r"^bookingTemplate/(?P<tpl>\w+)/bookingSlot/earliest$"),
                self.earliest,
            ),
            (
                "GET",
                re.compile(
                    r"^bookingTemplate/(?P<tpl>\w+)/bookingSlot/year/(?P<y>\d+)/month/(?P<m>\d+)"
                    r"/day/(?P<d>\d+)/listDay$"
                ),
                self.list_day,
            ),
            (
                "GET",
                re.compile(
                    r"^bookingTemplate/(?P<tpl>\w+)/bookingSlot/year/(?P<y>\d+)/week/(?P<w>\d+)"
                    r"/listWeek$"
                ),
                self.list_week,
            ),
            (
                "GET",
                re.compile(
                    r"^bookingTemplate/(?P<tpl>\w+)/bookingSlot/year/(?P<y>\d+)/month/(?P<m>\d+)"
                    r"/listMonth$"
                ),
                self.list_month,
            ),
            ("POST", re.compile(r"^appointment/add$"), self.appointment_add),
            ("GET", re.compile(r"^appointment/(?P<id>\w+)/show$"), self.appointment_show),
            ("PUT", re.compile(r"^appointment/(?P<id>\w+)/move$"), self.appointment_move),
            ("PUT", re.compile(r"^appointment/(?P<id>\w+)/cancel$"), self.appointment_cancel),
        ]
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self.dispatch,
                    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                )
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # -- entry ------------------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        path = request.url.path
        record = RecordedRequest(method=request.method, path=path)
        self.fake.log.append(record)
        if self.fake.control.latency:
            await asyncio.sleep(self.fake.control.latency)
        response = await self._failure_or_none(path)
        if response is None:
            if path == "/oauth/token" and request.method == "POST":
                response = await self.token(request, record)
            else:
                response = await self.api(request, record)
        record.status = response.status_code
        return response

    async def _failure_or_none(self, path: str) -> Response | None:
        mode = self.fake.control.take(path)
        if mode is None:
            return None
        if mode == "timeout":
            await asyncio.sleep(self.fake.control.hang_seconds)
            return failure(504, "Gateway Timeout")
        if mode == "unavailable":
            return failure(503, "Service Unavailable")
        if mode == "server_error":
            return failure(500, "Internal Server Error")
        if mode == "html_bad_request":
            # A proxy or framework error page: no envelope at all.
            return Response(
                "<html><body>400 Bad Request</body></html>", 400, media_type="text/html"
            )
        if mode == "malformed":
            return Response(
                '{"messageList": [], "content": {"class": "LI', 200, media_type="application/json"
            )
        return failure(401, "Unauthorized.")

    # -- auth server --------------------------------------------------------------------------

    async def token(self, request: Request, record: RecordedRequest) -> Response:
        fake = self.fake
        form: dict[str, str]
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(await request.body())
            except json.JSONDecodeError:
                body = {}
            form = {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        else:
            # application/x-www-form-urlencoded (python-multipart is not installed, so the
            # multipart/form-data the PHP SDK also sends is not understood by this fake).
            raw = (await request.body()).decode("utf-8", "replace")
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        record.grant_type = grant
        client_id = form.get("client_id", "")
        if client_id not in fake.clients:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        if grant == "client_credentials":
            token = fake.issue("refresh", client_id, None)
            return self._token_answer("refresh_token", token.value, fake.refresh_lifetime)
        if grant == "refresh_token":
            refresh = fake.valid_token(form.get("refresh_token", ""), "refresh")
            if refresh is None or refresh.client_id != client_id:
                return oauth_error(400, "invalid_grant", "The refresh token is invalid.")
            org = form.get("organization_id", "")
            if org not in fake.clients[client_id] or org not in fake.organizations:
                return oauth_error(403, "access_denied", "Organization not permitted.")
            token = fake.issue("access", client_id, org)
            return self._token_answer("access_token", token.value, fake.access_lifetime)
        return oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")

    def _token_answer(self, key: str, value: str, lifetime: int) -> Response:
        expires: int | str = str(lifetime) if self.fake.expires_in_as_string else lifetime
        return JSONResponse({key: value, "token_type": "Bearer", "expires_in": expires})

    # -- Module API ---------------------------------------------------------------------------

    async def api(self, request: Request, record: RecordedRequest) -> Response:
        fake = self.fake
        matched = API.match(request.url.path)
        if matched is None:
            return failure(404, "Not found.")
        locale, org_id, rest = matched["locale"], matched["org"], matched["rest"]
        record.locale = locale
        if locale not in SUPPORTED_LOCALES:
            return failure(404, "Unknown locale.")
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return failure(401, "Unauthorized.")
        token = fake.valid_token(authorization.removeprefix("Bearer "), "access")
        if token is None:
            return failure(401, "Unauthorized.")
        if token.organization_id != org_id:
            return failure(403, "Access to this organization is forbidden.")
        org = fake.organizations.get(org_id)
        if org is None:
            return failure(404, "Organization not found.")
        allowed = False
        for method, pattern, handler in self.routes:
            route = pattern.match(rest)
            if route is None:
                continue
            allowed = True
            if method == request.method:
                return await handler(request, route, org, locale)
        return failure(405, "Method not allowed.") if allowed else failure(404, "Not found.")

    def _template(self, org: Organization, route: re.Match[str]) -> FakeTemplate | None:
        return org.templates.get(route["tpl"])

    async def template_list(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        records = [t.record(locale, str(org.timezone)) for t in org.templates.values()]
        return envelope(
            200,
            {
                "class": "LIST",
                "recordTotal": len(records),
                "recordLimit": 9999,
                "recordList": records,
            },
        )

    async def template_show(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        template = self._template(org, route)
        if template is None:
            return failure(404, "Booking template not found.")
        return envelope(200, template.record(locale, str(org.timezone)))

    def _range(
        self, org: Organization, template: FakeTemplate, first: date, last: date
    ) -> Response:
        tz = org.timezone
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(last, datetime.max.time().replace(microsecond=0), tzinfo=tz)
        return envelope(
            200,
            {
                "class": "RANGE_LIST",
                "rangeStart": start.isoformat(),
                "rangeEnd": end.isoformat(),
                "timeZone": str(tz),
                self.fake.slot_list_key: self.fake.free_slots(org, template, first, last),
            },
        )

    async def list_day(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        template = self._template(org, route)
        if template is None:
            return failure(404, "Booking template not found.")
        try:
            day = date(int(route["y"]), int(route["m"]), int(route["d"]))
        except ValueError:
            return failure(400, "Invalid date.", "day")
        return self._range(org, template, day, day)

    async def list_week(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        template = self._template(org, route)
        if template is None:
            return failure(404, "Booking template not found.")
        try:
            monday = date.fromisocalendar(int(route["y"]), int(route["w"]), 1)
        except ValueError:
            return failure(400, "Invalid week.", "week")
        return self._range(org, template, monday, monday + timedelta(days=6))

    async def list_month(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        template = self._template(org, route)
        if template is None:
            return failure(404, "Booking template not found.")
        try:
            first = date(int(route["y"]), int(route["m"]), 1)
        except ValueError:
            return failure(400, "Invalid month.", "month")
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return self._range(org, template, first, following - timedelta(days=1))

    async def earliest(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        template = self._template(org, route)
        if template is None:
            return failure(404, "Booking template not found.")
        today = self.fake.clock().astimezone(org.timezone).date()
        day = today
        while day <= today + timedelta(days=template.horizon_days):
            if self.fake.free_slots(org, template, day, day):
                return self._range(org, template, day, day)
            day += timedelta(days=1)
        return self._range(org, template, today, today)

    async def _json_body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    async def appointment_add(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        body = await self._json_body(request)
        if body is None:
            return failure(400, "The request body is not valid JSON.")
        self.fake.add_bodies.append(body)
        if self.fake.control.add_refusals:
            refusal = self.fake.control.add_refusals.pop(0)
            return failure(refusal.status, refusal.text, refusal.parameter, refusal.type_)
        slot_id = str(body.get("bookingSlotId") or "")
        if not slot_id:
            return failure(400, "This parameter is missing.", "bookingSlotId")
        key = self.fake.slot_key(slot_id)
        if key is None or key.organization_id != org.id:
            return failure(400, "This booking slot does not exist.", "bookingSlotId")
        template = org.templates[key.template_id]
        customer = body.get("customer")
        if not isinstance(customer, dict):
            return failure(400, "This parameter is missing.", "customer")
        refused = validate_customer(template, customer)
        if refused is not None:
            return refused
        # No await between the check and the insert: of two racing requests one wins.
        if not self.fake.bookable(org, key):
            return failure(
                self.fake.slot_taken_status,
                "This booking slot is no longer available.",
                "bookingSlotId",
            )
        appointment = Appointment(
            id=self.fake.new_id("ed"),
            template_id=template.id,
            start=key.start,
            end=key.start + timedelta(minutes=template.duration),
            resource_id=key.resource_id,
            customer=dict(customer),
        )
        org.appointments[appointment.id] = appointment
        return envelope(
            201,
            self.fake.appointment_record(org, appointment, locale),
            [message("success", "Appointment successfully booked.")],
        )

    async def appointment_show(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        appointment = org.appointments.get(route["id"])
        if appointment is None:
            return failure(404, "Appointment not found.")
        return envelope(200, self.fake.appointment_record(org, appointment, locale))

    async def appointment_move(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        appointment = org.appointments.get(route["id"])
        if appointment is None:
            return failure(404, "Appointment not found.")
        if appointment.canceled:
            return failure(400, "This appointment is canceled.")
        body = await self._json_body(request)
        slot_id = str((body or {}).get("bookingSlotId") or "")
        key = self.fake.slot_key(slot_id) if slot_id else None
        if key is None or key.template_id != appointment.template_id:
            return failure(400, "This booking slot does not exist.", "bookingSlotId")
        if not self.fake.bookable(org, key, ignore=appointment.id):
            return failure(
                self.fake.slot_taken_status,
                "This booking slot is no longer available.",
                "bookingSlotId",
            )
        template = org.templates[key.template_id]
        appointment.start = key.start
        appointment.end = key.start + timedelta(minutes=template.duration)
        appointment.resource_id = key.resource_id
        appointment.moved = True
        return envelope(
            200,
            self.fake.appointment_record(org, appointment, locale),
            [message("success", "Appointment successfully moved.")],
        )

    async def appointment_cancel(
        self, request: Request, route: re.Match[str], org: Organization, locale: str
    ) -> Response:
        appointment = org.appointments.get(route["id"])
        if appointment is None:
            return failure(404, "Appointment not found.")
        if appointment.canceled:
            return failure(400, "This appointment is already canceled.")
        appointment.canceled = True
        return envelope(
            200,
            self.fake.appointment_record(org, appointment, locale),
            [message("success", "Appointment successfully canceled.")],
        )


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def validate_customer(template: FakeTemplate, customer: dict[str, Any]) -> Response | None:
    """The first failure of the customer's details, in the platform's words."""
    for name in ("firstName", "lastName"):
        if not str(customer.get(name) or "").strip():
            return failure(400, "This value should not be blank.", name)
    email = str(customer.get("email") or "")
    if template.email_required and not email:
        return failure(400, "This value should not be blank.", "email")
    if email and not EMAIL.match(email):
        return failure(400, "This value is not a valid email address.", "email")
    mobile = str(customer.get("mobile") or "")
    if template.mobile_required and not mobile:
        return failure(400, "This value should not be blank.", "mobile")
    if mobile and not re.fullmatch(r"\+?[0-9 ()/-]{6,20}", mobile):
        return failure(400, "This value is not a valid mobile number.", "mobile")
    address = customer.get("address")
    if template.address_required and not (
        isinstance(address, dict) and str(address.get("street") or "").strip()
    ):
        return failure(400, "This value should not be blank.", "address")
    for part in template.address_parts_required:
        if not (isinstance(address, dict) and str(address.get(part) or "").strip()):
            return failure(400, "This value should not be blank.", part)
    return None


__all__ = ["FakeBookingtimeApp", "SlotKey"]
