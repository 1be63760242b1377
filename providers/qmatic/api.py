"""Paths, headers, request bodies and response shapes of Qmatic's "external/v1" API.

Everything the adapter knows about Qmatic's wire format lives here (timeslots and their time
zones in :mod:`providers.qmatic.times`), so a sandbox account can correct it without touching the
rest. Facts come from Qmatic's public wiki (seed 003, and the
pages "Authentication", "Cancel an appointment", "Update customer details on Appointment",
"Release a reservation", "Reschedule appointment with multiple services").

**Confirmed** (documented): the token endpoint with Basic auth, ``X-ACCOUNT`` and the three
scopes; ``X-TENANT-ID`` on every call; ``Accept-Language`` values; the paths of services,
groups, timeslots, reservations, search, cancel and customer update; the *request* fields of a
reservation and of its confirmation; the shape of ``GET /services`` and ``GET /services/groups``.

**GUESSED** (marked ``GUESS`` below; the wiki leaves them empty or unnamed):

* ``API_PREFIX`` ``/external/v1`` (the wiki names ``/external/v1/serviceCombination/``).
* Timeslot query parameters ``fromDate``/``toDate`` (the wiki lists none; the adapter also
  filters by day itself, so a platform that ignores them still gives right answers).
* Timeslot response: a JSON array of ``{"startTime", "endTime"}`` (ISO 8601; a time without an
  offset is read in the business time zone), optionally wrapped as ``{"timeslots": [...]}``.
* Reservation bodies: ``timeslot: {startTime, endTime}`` nested; the created reservation is an
  object carrying its id as ``reservationId`` or ``id``.
* Confirmation body: ``dateOfBirth`` spelled that way; information question answers as
  ``informationQuestions: [{"questionText", "answer"}]`` (questions have no id in the API).
  Screening answers are not sent: the wiki's confirm body has no field for them, so they are
  checked on our side.
* Appointments: ``appointmentId``, ``timeSlot{startTime,endTime}``, ``service{id,name}``,
  ``branch{id,name}`` (named on the search page; the nesting is a guess).
* Reschedule: ``PUT /appointments/{appointmentId}/reschedule`` with ``{"reservationId"}``; an
  answer without an appointment id means the appointment moved in place and kept its id
  (:func:`rescheduled_id`).
* ``GET /services/groups`` answers 404 when the tenant configured no groups
  (read as NotFound by the adapter): the booking then has no group step.
* Error statuses (mapped in :func:`providers.qmatic.errors.raise_for`): 409 for a time taken,
  404/410 for a reservation gone before its confirmation, 400/422 for a refused field.
* Error bodies: ``{"errorCode": str, "message": str, "field"?: str}``; also read the way
  Orchestra (Qmatic's on-premise product, whose public clients exist) answers: ``error_code``
  and ``error_message`` headers and a ``{"msg": ...}`` body (:func:`error_code`,
  :func:`error_message`).
* Created resources: the API document gives ``201`` with no body schema for a reservation and
  its confirmation. The id is read from the body when there is one, else from a ``Location``
  header (:func:`created_id`); a confirmation with neither is looked up by the customer's
  identifier and the slot's start (:func:`appointment_at`).
* The customer identifier (``personalIdentifier``): "the external customer's identifier", a GUID
  in the vendor's wiki, 10-48 of ``[A-Za-z0-9]`` in the API document. We generate it (32 hex
  digits satisfy both, :func:`new_customer_identifier`), keep it in the fiche, and never take one
  a user typed (:func:`customer_identifier`).
* Time zones: a time without an offset is in the branch's zone when the branch names one
  (``timeZone``, as Orchestra's branches do; :func:`~providers.qmatic.times.branch_zone`), else
  in the business's zone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import Booking, CustomerDetails, CustomerField
from providers.qmatic import times

# -- hosts and paths ---------------------------------------------------------------------------

#: Host of a region when the settings give a region code (``eu``) instead of a host.
REGION_HOST_TEMPLATE = "api.{region}.qmatic.io"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a secret)
API_PREFIX = "/external/v1"  # GUESS (see module docstring)

SERVICES = "/services"
SERVICE_GROUPS = "/services/groups"
RESERVATIONS = "/reservations"
APPOINTMENTS_SEARCH = "/appointments/search"


def timeslots_path(service_id: str) -> str:
    return f"/services/{service_id}/timeslots"


def reservation_path(reservation_id: str) -> str:
    return f"/reservations/{reservation_id}"


def appointment_path(appointment_id: str) -> str:
    return f"/appointments/{appointment_id}"


def appointment_customer_path(appointment_id: str) -> str:
    return f"/appointments/{appointment_id}/customer"


def reschedule_path(appointment_id: str) -> str:
    return f"/appointments/{appointment_id}/reschedule"  # GUESS


# -- auth --------------------------------------------------------------------------------------

SCOPE_BOOK = "com.qmatic.saas.appointments/external.appointment.book"
SCOPE_RESCHEDULE = "com.qmatic.saas.appointments/external.appointment.reschedule"
SCOPE_CANCEL = "com.qmatic.saas.appointments/external.appointment.cancel"
SCOPES = (SCOPE_BOOK, SCOPE_RESCHEDULE, SCOPE_CANCEL)
TOKEN_LIFETIME_SECONDS = 3600.0  # used when the token answer has no expires_in
#: How long a reservation holds its slot (documented: 15 minutes).
HOLD_MINUTES = 15

# -- languages ---------------------------------------------------------------------------------

#: Every ``Accept-Language`` value Qmatic documents, in the order used as a fallback.
ALL_LANGUAGES = ("en_US", "en_UK", "fr_FR", "nl_NL", "de_DE", "it_IT", "ES_es")
#: The engine's language codes (lower case, ``-`` or ``_``) to Qmatic's values.
LANGUAGE_MAP: Mapping[str, str] = {
    "en": "en_US",
    "en_us": "en_US",
    "en_gb": "en_UK",
    "en_uk": "en_UK",
    "fr": "fr_FR",
    "nl": "nl_NL",
    "de": "de_DE",
    "it": "it_IT",
    "es": "ES_es",
}


def accept_language(language: str, supported: tuple[str, ...]) -> str:
    """Qmatic's ``Accept-Language`` for the engine's ``language`` among the tenant's ``supported``
    values: the exact regional match, else the language's main region, else the first supported
    value whose language matches, else the first supported value (the tenant's default)."""
    code = language.strip().lower().replace("-", "_")
    wanted = [LANGUAGE_MAP.get(code), LANGUAGE_MAP.get(code.split("_")[0])]
    for candidate in wanted:
        if candidate in supported:
            return candidate
    prefix = code.split("_")[0]
    for value in supported:
        if value.lower().startswith(prefix + "_"):
            return value
    return supported[0]


# -- errors ------------------------------------------------------------------------------------

#: GUESS: the ``errorCode`` values that change what the adapter does.
ERROR_SLOT_TAKEN = "timeslot.notAvailable"
ERROR_RESERVATION_EXPIRED = "reservation.expired"
ERROR_INVALID_FIELD = "validation.invalidField"
ERROR_SERVICE_CHANGE = "appointment.serviceCannotChange"

#: GUESS: the platform's field names (in ``field``) to the customer detail the engine re-asks.
#: (``personalIdentifier`` is ours, never the customer's to type again: a refusal of it is a
#: plain refusal, not a question.)
FIELD_MAP: Mapping[str, CustomerField] = {
    "firstName": CustomerField.FIRST_NAME,
    "lastName": CustomerField.LAST_NAME,
    "email": CustomerField.EMAIL,
    "phoneNumber": CustomerField.PHONE,
    "dateOfBirth": CustomerField.BIRTH_DATE,
}


#: GUESS: Orchestra's error headers (its public clients read these).
ERROR_CODE_HEADER = "error_code"
ERROR_MESSAGE_HEADER = "error_message"


def error_code(body: Any, headers: Mapping[str, str] | None = None) -> str:
    if isinstance(body, Mapping):
        code = body.get("errorCode") or body.get("code")
        if code:
            return str(code)
    return str((headers or {}).get(ERROR_CODE_HEADER) or "")


def error_message(body: Any, headers: Mapping[str, str] | None = None) -> str | None:
    """The platform's human text, if any (never echoes the request, so it carries no secret)."""
    if isinstance(body, Mapping):
        for key in ("message", "errorMessage", "detail", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:500]
    value = (headers or {}).get(ERROR_MESSAGE_HEADER)
    return value[:500] if value else None


def error_field(body: Any) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("field"), str):
        return str(body["field"])
    return None


# -- bodies ------------------------------------------------------------------------------------


def reservation_body(
    service_id: str,
    branch_id: str,
    resource_id: str | None,
    start: str,
    end: str,
    party_size: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceId": service_id,
        "branchId": branch_id,
        "timeslot": {"startTime": start, "endTime": end},  # GUESS: nesting
        "numberOfReservations": party_size,
    }
    if resource_id:
        body["requestedResourceId"] = resource_id
    return body


def created_id(body: Any, location: str | None, key: str) -> str | None:
    """The id of a created resource: ``key`` or ``id`` in the body, else the last segment of
    the ``Location`` header (GUESS: the document gives 201 with no body schema)."""
    if isinstance(body, Mapping):
        value = body.get(key) or body.get("id")
        if isinstance(value, str | int) and str(value):
            return str(value)
    if location:
        segment = location.rstrip("/").rsplit("/", 1)[-1]
        if segment:
            return segment
    return None


def rescheduled_id(body: Any, booking_ref: str) -> str:
    """The appointment id a reschedule answered (GUESS: none means moved in place)."""
    found = created_id(body, None, "appointmentId")
    return found or booking_ref


def reservation_id(body: Any, location: str | None = None) -> str:
    found = created_id(body, location, "reservationId")
    if found is None:
        raise ValueError("reservation answer has neither an id nor a Location")
    return found


def appointment_at(body: Any, start: datetime, tz: ZoneInfo) -> str | None:
    """The id of the appointment starting at ``start`` in a search answer (how a confirmation
    answered with an empty 201 is found)."""
    for item in appointment_items(body):
        time_slot = item.get("timeSlot") or {}
        try:
            if times.parse_time(time_slot.get("startTime"), tz) == start:
                return str(item["appointmentId"])
        except (KeyError, TypeError, ValueError):
            continue
    return None


#: The identifier the platform accepts (documented: 10-48 of [A-Za-z0-9]).
IDENTIFIER_RE = re.compile(r"[A-Za-z0-9]{10,48}")


def new_customer_identifier() -> str:
    """A fresh external customer identifier: a GUID, written as 32 hex digits."""
    return uuid.uuid4().hex


def customer_identifier(customer: CustomerDetails) -> str:
    """The identifier to book ``customer`` with: the one kept in their fiche (``provider_ref``,
    one we generated, or one an older version stored), else a new one. Never a value the user
    typed: ``personal_id`` is not read, so nobody can book or search under another person's."""
    kept = customer.provider_ref or ""
    return kept if IDENTIFIER_RE.fullmatch(kept) else new_customer_identifier()


def confirm_body(
    *,
    personal_id: str,
    first_name: str,
    last_name: str,
    email: str,
    phone: str | None,
    birth_date: date | None,
    information_answers: list[tuple[str, str]],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalIdentifier": personal_id,
        "firstName": first_name,
        "lastName": last_name,
        "email": email,
    }
    if phone:
        body["phoneNumber"] = phone
    if birth_date is not None:
        body["dateOfBirth"] = birth_date.isoformat()  # GUESS: spelling
    if information_answers:
        body["informationQuestions"] = [  # GUESS: item shape
            {"questionText": text, "answer": answer} for text, answer in information_answers
        ]
    return body


def customer_update_body(
    *,
    first_name: str,
    last_name: str,
    email: str | None,
    phone: str | None,
    birth_date: date | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"firstName": first_name, "lastName": last_name}
    if email:
        body["email"] = email
    if phone:
        body["phoneNumber"] = phone
    if birth_date is not None:
        body["dateOfBirth"] = birth_date.isoformat()
    return body


def search_body(personal_id: str) -> dict[str, Any]:
    return {"customer": {"personalIdentifier": personal_id}}


def reschedule_body(new_reservation_id: str) -> dict[str, Any]:
    return {"reservationId": new_reservation_id}  # GUESS


def appointment_items(body: Any) -> list[Mapping[str, Any]]:
    """Appointments of a search answer (GUESS: bare list or ``{"appointments": [...]}``)."""
    if isinstance(body, Mapping):
        body = body.get("appointments")
    if not isinstance(body, list):
        raise ValueError("search answer is not a list")
    return [item for item in body if isinstance(item, Mapping)]


def found_bookings(
    body: Any,
    tz: ZoneInfo,
    personal_id: str,
    branch_zones: Mapping[str, ZoneInfo] | None = None,
) -> list[Booking]:
    """The appointments of a search answer (``KeyError``/``TypeError``/``ValueError`` when its
    shape is not the expected one); naive times are read in the appointment's branch's zone
    when ``branch_zones`` knows it, else in ``tz``."""
    found: list[Booking] = []
    for item in appointment_items(body):
        time_slot = item["timeSlot"]
        branch = str((item.get("branch") or {}).get("id") or "")
        zone = (branch_zones or {}).get(branch, tz)
        found.append(
            Booking(
                ref=str(item["appointmentId"]),
                start=times.parse_time(time_slot["startTime"], zone),
                end=times.parse_time(time_slot["endTime"], zone),
                service_name=str((item.get("service") or {}).get("name") or ""),
                customer_ref=personal_id,
            )
        )
    return found
