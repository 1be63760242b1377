"""Paths, headers, request bodies and response shapes of Qmatic's "external/v1" API.

Everything the adapter knows about Qmatic's wire format lives here, so a sandbox account can
correct it without touching the rest. Facts come from Qmatic's public wiki (seed 003, and the
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
* Reschedule: ``PUT /appointments/{appointmentId}/reschedule`` with ``{"reservationId"}``.
* Error bodies: ``{"errorCode": str, "message": str, "field"?: str}``; the statuses in
  :data:`ERROR_STATUSES` are what a REST API of this family usually answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import Booking, CustomerField, Slot

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
FIELD_MAP: Mapping[str, CustomerField] = {
    "personalIdentifier": CustomerField.PERSONAL_ID,
    "firstName": CustomerField.FIRST_NAME,
    "lastName": CustomerField.LAST_NAME,
    "email": CustomerField.EMAIL,
    "phoneNumber": CustomerField.PHONE,
    "dateOfBirth": CustomerField.BIRTH_DATE,
}


def error_code(body: Any) -> str:
    if isinstance(body, Mapping):
        return str(body.get("errorCode") or body.get("code") or "")
    return ""


def error_message(body: Any) -> str | None:
    """The platform's human text, if any (never echoes the request, so it carries no secret)."""
    if isinstance(body, Mapping):
        for key in ("message", "errorMessage", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:500]
    return None


def error_field(body: Any) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("field"), str):
        return str(body["field"])
    return None


# -- bodies ------------------------------------------------------------------------------------


def timeslot_query(
    branch_id: str,
    party_size: int,
    resource_id: str | None,
    first: date,
    last: date,
) -> dict[str, str]:
    query = {
        "branchId": branch_id,
        "numberOfReservations": str(party_size),
        "fromDate": first.isoformat(),  # GUESS
        "toDate": last.isoformat(),  # GUESS
    }
    if resource_id:
        query["requestedResourceId"] = resource_id
    return query


def timeslot_items(body: Any) -> list[Mapping[str, Any]]:
    """The ``{startTime, endTime}`` items of a timeslots answer (GUESS: bare list or wrapped)."""
    if isinstance(body, Mapping):
        body = body.get("timeslots", body.get("timeSlots"))
    if not isinstance(body, list):
        raise ValueError("timeslots answer is not a list")
    return [item for item in body if isinstance(item, Mapping)]


def parse_time(value: Any, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time from Qmatic; one without an offset is in the business time zone."""
    if not isinstance(value, str):
        raise ValueError("time is not a string")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


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


def reservation_id(body: Any) -> str:
    if isinstance(body, Mapping):
        value = body.get("reservationId") or body.get("id")
        if isinstance(value, str | int) and str(value):
            return str(value)
    raise ValueError("reservation answer has no id")


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


def found_bookings(body: Any, tz: ZoneInfo, personal_id: str) -> list[Booking]:
    """The appointments of a search answer (``KeyError``/``TypeError``/``ValueError`` when its
    shape is not the expected one)."""
    found: list[Booking] = []
    for item in appointment_items(body):
        times = item["timeSlot"]
        found.append(
            Booking(
                ref=str(item["appointmentId"]),
                start=parse_time(times["startTime"], tz),
                end=parse_time(times["endTime"], tz),
                service_name=str((item.get("service") or {}).get("name") or ""),
                customer_ref=personal_id,
            )
        )
    return found


def slot_id(start: str, end: str) -> str:
    # The platform's own strings travel back in the reservation, unchanged.
    return f"{start}|{end}"


def slot_times(slot: Slot) -> tuple[str, str]:
    start, sep, end = slot.id.partition("|")
    if not sep:  # a slot not made by this adapter: send its times
        return slot.start.isoformat(), slot.end.isoformat()
    return start, end
