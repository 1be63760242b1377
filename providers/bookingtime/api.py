"""What the adapter knows about the bookingtime Module API: URLs, paths, shapes and guesses.

Confirmed (seed 002, the vendor's PHP SDK ``bookingtime/lib-phpsdk-module``):

* token chain on ``https://auth.bookingtime.com/oauth/token``: ``client_credentials`` gives a
  refresh token, ``refresh_token`` + ``organization_id`` gives an organization-bound access token
  (300 s); ``expires_in`` is documented both as a number and as a string;
* base ``https://api.bookingtime.com/module/v3/{locale}/``, paths below, ``appointment/add``
  answers 201 and the other calls 200;
* every answer is ``{"messageList": [...], "content": ...}``; a failure message may name the
  offending request field in ``parameter``;
* ids are 32 characters with a two-character prefix.

GUESSES (isolated here so a sandbox account can correct them without touching the rest):

* :data:`SUPPORTED_LOCALES`: which locale segments the API accepts (``de`` and ``en`` are
  documented; the rest are the languages the bookingtime booking pages offer). Anything else
  falls back to :data:`FALLBACK_LOCALE`. The one list: the test fake accepts exactly these.
* The spelling of a failure message's ``type``: only ``"success"`` appears in the SDK material,
  so every other type counts as a problem (:func:`failure_messages`).
* :data:`PARAMETER_FIELDS`: the names a failure's ``parameter`` uses for customer fields (the
  SDK documents ``firstName``; the others follow the request body's keys), possibly prefixed
  (``customer.email``, ``customer[email]``).
* :func:`~providers.bookingtime.records.resource_choice`: the shape of a resource choice in
  ``bookingStepList`` (the docs only say it offers a ``bookingResourceList`` of EMPLOYEE etc.).
* :data:`SLOT_TAKEN_STATUSES`: a slot taken meanwhile answers 409, or 400 naming
  ``bookingSlotId``; a 400 that names nothing is not taken for "slot taken".
* :func:`customer_address`: the SDK sends ``{name, extra, street, zip, city, country}`` without a
  ``class``; the engine collects one line of text, which goes into ``street``, or, typed as
  "street, postcode town" (a postcode of 4 or 5 digits), into ``street``, ``zip`` and ``city``.
  Which parts a back end requires is documented nowhere: a refusal naming ``zip`` or ``city``
  asks for the address again in that form (:data:`ADDRESS_PARTS`).
* :data:`UNCOLLECTED_PARAMETERS`: details the SDK sends that the bot never asks (``gender``).
* A template with ``bookingDayEarliest`` and ``bookingDayLatest`` both 0 (or absent) has no
  window of its own: the platform's default horizon applies, and only the platform's listings
  bound the days (:func:`~providers.bookingtime.records.parse_template`).
* Slot timestamps may carry offsets as PHP writes them (``+0:00``, the SDK's mocks); a slot whose
  timestamp cannot be read is skipped, not the whole listing
  (:func:`~providers.bookingtime.records.parse_slots`).
* The token endpoint's refusal of an expired refresh token (OAuth2 ``invalid_grant``, 400 or 401).
* ``bookingLeadTime`` is in minutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from providers.base import N_, CustomerDetails, CustomerField, UserText

DEFAULT_AUTH_URL = "https://auth.bookingtime.com/oauth/token"
DEFAULT_API_URL = "https://api.bookingtime.com/module/v3"

#: The SDK renews the access token 60 s before it expires; we do the same for both tokens.
RENEW_BEFORE_SECONDS = 60.0
#: Lifetimes assumed when an answer omits ``expires_in`` (the documented examples).
DEFAULT_REFRESH_LIFETIME = 1800.0
DEFAULT_ACCESS_LIFETIME = 300.0

SUPPORTED_LOCALES = frozenset({"de", "en", "fr", "it", "es", "nl"})
FALLBACK_LOCALE = "en"

#: Status codes that mean "that slot is no longer bookable" whatever the message says.
SLOT_TAKEN_STATUSES = frozenset({409})

#: ``parameter`` of a failure message -> the customer detail the engine asks again.
PARAMETER_FIELDS: Mapping[str, CustomerField] = {
    "firstname": CustomerField.FIRST_NAME,
    "lastname": CustomerField.LAST_NAME,
    "email": CustomerField.EMAIL,
    "mobile": CustomerField.PHONE,
    "phone": CustomerField.PHONE,
    "birthday": CustomerField.BIRTH_DATE,
    "address": CustomerField.ADDRESS,
    "street": CustomerField.ADDRESS,
    "zip": CustomerField.ADDRESS,
    "city": CustomerField.ADDRESS,
    "country": CustomerField.ADDRESS,
}
#: Parts of the address a refusal may name that the one line only fills when typed as
#: "street, postcode town" (:func:`customer_address`); the user is asked for it in that form.
ADDRESS_PARTS = frozenset({"zip", "city"})
ADDRESS_PARTS_MISSING = N_(
    "The booking system needs the postcode and town of the address. Please type it as "
    "“street, postcode town”, for example “Unter den Linden 1, 10117 Berlin”."
)
#: "postcode town", the last part of an address typed as "street, postcode town"
_POSTCODE_TOWN = re.compile(r"(\d{4,5})\s+(\S.*)")
#: ``parameter`` values that mean the slot itself was refused.
SLOT_PARAMETERS = frozenset({"bookingslotid"})
#: ``parameter`` values naming a detail the SDK sends but the bot never asks, with what the
#: user is told (the booking cannot go through here; nothing to type again).
UNCOLLECTED_PARAMETERS: Mapping[str, UserText] = {
    "gender": N_(
        "The booking system needs the customer's gender, which this chat does not ask. "
        "Please book with the business directly."
    ),
    "title": N_(
        "The booking system needs the customer's title, which this chat does not ask. "
        "Please book with the business directly."
    ),
}
#: What the user is told when a refusal names a detail neither collected nor known.
OTHER_DETAIL_MISSING = N_(
    "The booking system needs a detail this chat does not ask. "
    "Please book with the business directly."
)

ID_PREFIXES = {
    "organization": "f6",
    "booking_template": "fc",
    "booking_slot": "4f",
    "booking_resource": "br",
    "appointment": "ed",
}


def locale_for(language: str) -> str:
    """The URL locale segment for a user's language (``"fr-CA"`` -> ``"fr"``; unknown -> en)."""
    primary = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] if language else ""
    return primary if primary in SUPPORTED_LOCALES else FALLBACK_LOCALE


# -- paths, relative to {api_url}/{locale}/organization/{orgId}/ ----------------------------------


def template_list_path() -> str:
    return "bookingTemplate/list"


def month_slots_path(template_id: str, year: int, month: int) -> str:
    return f"bookingTemplate/{template_id}/bookingSlot/year/{year}/month/{month}/listMonth"


def day_slots_path(template_id: str, day: date) -> str:
    return (
        f"bookingTemplate/{template_id}/bookingSlot/year/{day.year}/month/{day.month}"
        f"/day/{day.day}/listDay"
    )


def add_appointment_path() -> str:
    return "appointment/add"


def show_appointment_path(appointment_id: str) -> str:
    return f"appointment/{appointment_id}/show"


def move_appointment_path(appointment_id: str) -> str:
    return f"appointment/{appointment_id}/move"


def cancel_appointment_path(appointment_id: str) -> str:
    return f"appointment/{appointment_id}/cancel"


def customer_address(text: str) -> dict[str, str]:
    """An address as the SDK sends it, from the one line the engine collects (no ``class`` key,
    which the SDK never sends): "street, postcode town" gives ``street``, ``zip`` and
    ``city``; anything else goes into ``street`` as typed (GUESS: see the module's notes)."""
    street, comma, last = text.rpartition(",")
    parts = _POSTCODE_TOWN.fullmatch(last.strip()) if comma and street.strip() else None
    if parts is None:
        return {"street": text}
    return {"street": street.strip(), "zip": parts.group(1), "city": parts.group(2).strip()}


@dataclass(frozen=True)
class EmailFlags:
    """The ``sendAppointment*EventEmail`` flags the SDK sends with ``appointment/add``: whether
    the platform mails the customer when the appointment is made, starts and ends."""

    add: bool = True
    start: bool = True
    end: bool = True


def add_body(
    slot_id: str, customer: CustomerDetails, locale: str, emails: EmailFlags
) -> dict[str, Any]:
    """The ``appointment/add`` body, shaped as the vendor's SDK sends it."""
    return {
        "bookingSlotId": slot_id,
        "sendAppointmentAddEventEmail": emails.add,
        "sendAppointmentStartEventEmail": emails.start,
        "sendAppointmentEndEventEmail": emails.end,
        "customer": customer_body(customer, locale),
    }


def customer_body(customer: CustomerDetails, locale: str) -> dict[str, Any]:
    """The ``customer`` object of ``appointment/add``; absent details are left out (``gender``
    too: the SDK sends it when known, and the bot never asks it)."""
    body: dict[str, Any] = {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "locale": locale,
    }
    if customer.email:
        body["email"] = customer.email
    if customer.phone:
        body["mobile"] = customer.phone
    if customer.birth_date:
        body["birthday"] = customer.birth_date.isoformat()
    if customer.address:
        body["address"] = customer_address(customer.address)
    return body


def field_for_parameter(parameter: str) -> CustomerField | None:
    """The customer field a failure's ``parameter`` names (``customer.email`` -> EMAIL)."""
    return PARAMETER_FIELDS.get(_last_segment(parameter))


def is_address_part(parameter: str) -> bool:
    """Whether a failure's ``parameter`` names the postcode or town of the address."""
    return _last_segment(parameter) in ADDRESS_PARTS


def is_slot_parameter(parameter: str) -> bool:
    return _last_segment(parameter) in SLOT_PARAMETERS


def missing_detail_text(parameter: str) -> UserText:
    """What the user is told when a refusal names ``parameter``, a detail the bot never asks."""
    return UNCOLLECTED_PARAMETERS.get(_last_segment(parameter), OTHER_DETAIL_MISSING)


def _last_segment(parameter: str) -> str:
    parts = [p for p in re.split(r"[.\[\]/]", parameter) if p]
    return parts[-1].lower() if parts else ""


def failure_messages(body: Any) -> Sequence[Mapping[str, Any]]:
    """The problem entries of a response's ``messageList``: every message whose ``type`` is not
    ``success`` (GUESS: the failure type's spelling is documented nowhere)."""
    if not isinstance(body, Mapping):
        return ()
    messages = body.get("messageList")
    if not isinstance(messages, list):
        return ()
    return [
        m
        for m in messages
        if isinstance(m, Mapping) and str(m.get("type", "")).strip().lower() != "success"
    ]
