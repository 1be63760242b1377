"""Everything about ClicRDV that is NOT documented, in one place, each item a guess.

The public documentation (seed 004, developers.clicrdv.com) leaves these open. Each constant or
function below is our best reading of the platform (the vendor's PHP client, the Vevent pages,
Rails conventions the API visibly follows) and should be checked against a sandbox account.
Nothing else in the adapter hard-codes an undocumented shape.

Guesses:

* **Cancel an appointment**: ``DELETE /api/v1/groups/{g}/appointments/{id}.json`` with the
  Account's session (the Vevent resource documents ``DELETE .../vevents/{id}`` marking the event
  deleted; the appointments resource is the Account-facing view of the same events). A second
  DELETE of the same id answers 404.
* **List the Account's appointments**: ``GET /api/v1/groups/{g}/appointments.json`` with the
  session; the Account profile only sees appointments of its own fiches.
* **Reading the signed-in account back**: ``GET /api/v1/accounts/{id}.json`` with the session
  answers that account (wrapped in ``{"account": ...}`` or not); without a live session it
  answers anything else (404, another shape), never a 401 (documented: no 401 for protected
  resources). This is how a lost session is noticed.
* **NotAvailable's numeric code**: the documentation's table leaves it blank between 9 and 11; we
  assume 10 and match the name first.
* **Error bodies**: the documentation only says "details in body". We accept
  ``{"error": {"code", "name", "message"}}``, ``{"errors": [{"code", "error", "message"}]}``,
  ``{"code", "error"|"name", "message"}`` and, failing those, a known code name in the raw text.
  Field validation failures: ``{"errors": {"<fiche field>": ["message", ...]}}`` (Rails style).
* **Login failure**: either 401/403 or 200 with ``{"account": null, "error": "<text>"}``.
* **Record fields**: interventions carry ``name``/``publicname``, ``length`` (minutes), ``price``
  and ``interventionset_id``; calendars ``name``/``publicname``; an appointment answer carries
  ``id``, ``fiche_id`` (or ``fiche.id``), ``start``, ``end`` and ``calendar_id``, wrapped or not
  in ``{"appointment": ...}``.
* **Range of one availability request**: we ask for the whole displayed range at once and only
  split ranges longer than :data:`MAX_AVAILABILITY_DAYS`.
* **Currency**: prices are euros unless the business settings say otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import Booking
from providers.clicrdv import api

#: Longest range (days) asked in one availabletimeslots request.
MAX_AVAILABILITY_DAYS = 62
DEFAULT_CURRENCY = "EUR"
#: Length assumed for an intervention that does not say (only used for Slot.end).
DEFAULT_LENGTH_MINUTES = 30
#: Assumed numeric code of NotAvailable.
NOT_AVAILABLE_CODE = 10


def appointment_path(group_id: str, appointment_id: str) -> str:
    """Path of one appointment (used to cancel it)."""
    return f"/api/v1/groups/{group_id}/appointments/{appointment_id}.json"


def account_path(account_id: str) -> str:
    """Path of the signed-in account, read back to check that its session is still alive."""
    return f"/api/v1/accounts/{account_id}.json"


def account_id(body: Any) -> str | None:
    """The id of an account answer, wrapped in ``{"account": ...}`` or not."""
    if isinstance(body, Mapping):
        record = body.get("account", body)
        if isinstance(record, Mapping) and record.get("id") not in (None, ""):
            return str(record["id"])
    return None


def account_appointments_path(group_id: str) -> str:
    """Path listing the signed-in Account's appointments in the group."""
    return f"/api/v1/groups/{group_id}/appointments.json"


@dataclass(frozen=True)
class PlatformError:
    """What we could read from an error body."""

    code: str | None  # numeric code as text ("6") when present
    name: str | None  # code name ("MaxRdvNumber") when present
    message: str | None
    fields: Mapping[str, str]  # fiche field -> message, for validation failures


_NAME_RE = re.compile(
    r"\b(MaxRdvNumber|MintimeBetween|MaxRdvPeriod|MintimeRdv|NotAvailable|"
    r"EmailAlreadyExists|SameTimeRdv|EmailNotFound)\b"
)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    return str(value)


def parse_error(body: Any, raw_text: str) -> PlatformError:
    """Read the code, name, message and field errors from a 4xx body of any shape we know."""
    entry: Mapping[str, Any] | None = None
    fields: dict[str, str] = {}
    if isinstance(body, Mapping):
        error = body.get("error")
        errors = body.get("errors")
        if isinstance(error, Mapping):
            entry = error
        elif isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            entry = errors[0]
        elif isinstance(errors, Mapping):
            for key, value in errors.items():
                messages = value if isinstance(value, list) else [value]
                fields[str(key)] = "; ".join(str(m) for m in messages)
        elif "code" in body:
            entry = body
        if entry is None and isinstance(error, str):
            entry = {"message": error}
    code = name = message = None
    if entry is not None:
        code = _text(entry.get("code"))
        name = _text(entry.get("name")) or _text(entry.get("error"))
        message = _text(entry.get("message")) or _text(entry.get("msg"))
    if name is None:
        found = _NAME_RE.search(raw_text)
        name = found.group(1) if found else None
    if code is not None and not code.strip().isdigit():
        # Some bodies carry the name in "code" ("NotAvailable" has no documented number).
        name = name or code
        code = None
    return PlatformError(code=code, name=name, message=message, fields=fields)


def login_error(status: int, body: Any) -> str | None:
    """The platform's text when a login answer means "wrong email or password", else None."""
    if status in (401, 403):
        if isinstance(body, Mapping) and isinstance(body.get("error"), str):
            return str(body["error"])
        return "wrong email or password"
    if isinstance(body, Mapping) and body.get("error"):
        return str(body["error"])
    if isinstance(body, Mapping) and not body.get("account"):
        return "wrong email or password"
    return None


def intervention_label(record: Mapping[str, Any]) -> str:
    return str(record.get("publicname") or record.get("name") or record.get("id"))


def intervention_length(record: Mapping[str, Any]) -> int | None:
    try:
        length = int(record.get("length") or 0)
    except (TypeError, ValueError):
        return None
    return length or None


def intervention_price(record: Mapping[str, Any]) -> Decimal | None:
    value = record.get("price")
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def intervention_set(record: Mapping[str, Any]) -> str | None:
    value = record.get("interventionset_id")
    return None if value in (None, "", 0) else str(value)


def calendar_label(record: Mapping[str, Any]) -> str:
    return str(record.get("publicname") or record.get("name") or record.get("id"))


def appointment_record(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        inner = body.get("appointment", body)
        if isinstance(inner, Mapping):
            return inner
    raise ValueError("not a ClicRDV appointment")


def appointment_fiche_id(record: Mapping[str, Any]) -> str | None:
    if record.get("fiche_id") not in (None, ""):
        return str(record["fiche_id"])
    fiche = record.get("fiche")
    if isinstance(fiche, Mapping) and fiche.get("id") not in (None, ""):
        return str(fiche["id"])
    return None


def appointment_bookings(records: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> list[Booking]:
    """The account's appointments as bookings (GUESS: the shape of the account's appointment
    list; records without a readable start are left out)."""
    bookings = []
    for record in records:
        try:
            start = api.parse_datetime(str(record["start"])).replace(tzinfo=tz)
            end = api.parse_datetime(str(record.get("end") or record["start"]))
        except (KeyError, ValueError):
            continue
        bookings.append(
            Booking(
                ref=str(record["id"]),
                start=start,
                end=end.replace(tzinfo=tz),
                service_name=str(record.get("title") or record.get("intervention_name") or ""),
                customer_ref=appointment_fiche_id(record),
            )
        )
    return bookings
