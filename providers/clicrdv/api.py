"""What ClicRDV documents about its REST API v1 (seed 004, developers.clicrdv.com).

Only confirmed facts live here: base URLs, paths, query parameters, the collection envelope, the
date format, the group settings that decide the booking flow and the body of a booking
(:func:`appointment_body`). Everything we had to guess is in
:mod:`providers.clicrdv.guesses`, so a sandbox account can correct it in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from providers.base import Account, CustomerDetails, CustomerField, Fiche, ProviderUnavailable

BASE_URLS: dict[str, str] = {
    "production": "https://www.clicrdv.com",
    "sandbox": "https://sandbox.clicrdv.com",
}

#: Query parameter that carries the business's API key on every call.
APIKEY_PARAM = "apikey"
#: Cookie the session login sets; it authenticates the end user's Account afterwards.
SESSION_COOKIE = "_session_id"
#: Date-time format of ``start``, ``end`` and an appointment's ``date`` (group local time).
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Collections are paged (25 by default); this asks for every record in one answer.
ALL_RESULTS: dict[str, str] = {"results": "all"}

#: ``calendarChoice`` value meaning "the first step is choosing a service".
CALENDAR_CHOICE_SERVICE_FIRST = 2


def group_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}.json"


def interventionsets_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}/interventionsets.json"


def interventions_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}/interventions.json"


def calendars_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}/calendars.json"


def availabletimeslots_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}/availabletimeslots.json"


def fiches_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}/fiches.json"


def appointments_path(group_id: str) -> str:
    return f"/api/v1/groups/{group_id}/appointments.json"


LOGIN_PATH = "/api/v1/sessions/login.json"
ACCOUNTS_PATH = "/api/v1/accounts.json"


def hashed_password(password: str) -> str:
    """The session login takes the SHA1 of the password (hex), as the platform documents."""
    # SHA1 is the platform's choice, not ours; it is not used to store anything.
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def login_params(email: str, password: str) -> dict[str, str]:
    return {"account[email]": email, "account[password]": hashed_password(password)}


def format_datetime(value: datetime) -> str:
    return value.strftime(DATETIME_FORMAT)


def parse_datetime(value: str) -> datetime:
    """A naive datetime in the group's local time."""
    return datetime.strptime(value, DATETIME_FORMAT)


def records(body: Any) -> list[Mapping[str, Any]]:
    """The records of a collection envelope ``{records, totalRecords, startIndex, ...}``."""
    if isinstance(body, Mapping) and isinstance(body.get("records"), list):
        return [r for r in body["records"] if isinstance(r, Mapping)]
    raise ValueError("not a ClicRDV collection")


def flag(value: Any) -> bool:
    """Group settings arrive as booleans or as 0/1 (also as strings)."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


@dataclass(frozen=True)
class GroupSettings:
    """The group attributes the booking interface must follow (seed 004)."""

    id: str
    name: str
    inactive: bool
    open: bool
    calendar_choice: int
    any_calendar: bool
    validate_email: bool
    display_length: bool
    display_price: bool
    max_multirdvs: int

    @property
    def service_first(self) -> bool:
        return self.calendar_choice == CALENDAR_CHOICE_SERVICE_FIRST

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> GroupSettings:
        # A single resource may or may not be wrapped in its type name; accept both.
        group = body.get("group", body)
        if not isinstance(group, Mapping):
            raise ValueError("not a ClicRDV group")
        try:
            max_multi = int(group.get("max_multirdvs") or 1)
        except (TypeError, ValueError):
            max_multi = 1
        try:
            choice = int(group.get("calendarChoice") or 0)
        except (TypeError, ValueError):
            choice = 0
        return cls(
            id=str(group.get("id", "")),
            name=str(group.get("name", "")),
            inactive=flag(group.get("inactive", False)),
            # A group that does not say is taken as open; "open" false means closed to the web.
            open=flag(group.get("open", True)),
            calendar_choice=choice,
            any_calendar=flag(group.get("anyCalendar", False)),
            validate_email=flag(group.get("validateEmail", False)),
            display_length=flag(group.get("display_intervention_length", False)),
            display_price=flag(group.get("display_intervention_price", False)),
            max_multirdvs=max(1, max_multi),
        )


#: Fiche attribute for each customer detail (documented Fiche fields).
FICHE_FIELDS: dict[str, str] = {
    "first_name": "firstname",
    "last_name": "lastname",
    "phone": "firstphone",
    "email": "email",
    "birth_date": "birthdate",
}
#: Documented maximum lengths of fiche attributes.
FICHE_MAX_LENGTHS: dict[str, int] = {
    "firstname": 64,
    "lastname": 64,
    "firstphone": 25,
    "secondphone": 25,
    "email": 255,
}


# -- requests ------------------------------------------------------------------------------------


def appointment_body(
    group_id: str,
    services: Sequence[str],
    calendar: str | None,
    local_start: datetime,
    customer: CustomerDetails,
) -> dict[str, Any]:
    """The ``appointment`` of a booking: the chosen services at ``local_start`` (group local
    time), on ``calendar`` when one is chosen, for the customer's fiche (the fiche's id when the
    customer has one, and the details they gave)."""
    fiche: dict[str, Any] = {"group_id": id_value(group_id)}
    if customer.provider_ref:
        fiche["id"] = id_value(customer.provider_ref)
    for field, attribute in FICHE_FIELDS.items():
        value = customer.get(CustomerField(field))
        if value:
            fiche[attribute] = value
    appointment: dict[str, Any] = {
        "date": format_datetime(local_start),
        "intervention_ids": [id_value(s) for s in services],
        "comments": "",
        "websource": "Telegram",
        "fiche": fiche,
    }
    if calendar:
        appointment["calendar_id"] = id_value(calendar)
    return appointment


# -- answers as domain values --------------------------------------------------------------------


def mapping(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ProviderUnavailable("the platform answered an unexpected shape")
    return body


def text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def id_value(value: str) -> int | str:
    """ClicRDV ids are integers; keep anything else as given."""
    return int(value) if value.isdigit() else value


def account_of(record: Any, email: str) -> Account:
    data = record if isinstance(record, Mapping) else {}
    name = " ".join(str(data[k]) for k in ("firstname", "lastname") if data.get(k))
    return Account(
        ref=str(data.get("id", "")), email=str(data.get("email") or email), display_name=name
    )


def fiche_of(record: Mapping[str, Any]) -> Fiche:
    birth: date | None = None
    if record.get("birthdate"):
        try:
            birth = date.fromisoformat(str(record["birthdate"])[:10])
        except ValueError:
            birth = None
    customer = CustomerDetails(
        first_name=str(record.get("firstname") or ""),
        last_name=str(record.get("lastname") or ""),
        phone=text_or_none(record.get("firstphone")),
        email=text_or_none(record.get("email")),
        birth_date=birth,
        provider_ref=str(record["id"]),
    )
    label = " ".join(p for p in (customer.first_name, customer.last_name) if p)
    return Fiche(provider_ref=str(record["id"]), customer=customer, label=label)
