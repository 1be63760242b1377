"""ClickBook's wire format: the answers' items as domain values, the requests' field lists.

Shapes follow the guesses in :mod:`.mapping` and the WSDL fixtures (zeep hands us the answers as
plain dicts and lists); anything missing from an item is tolerated where a default makes sense
and reported as :class:`ProviderUnavailable` where it does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import (
    Booking,
    CustomerDetails,
    Money,
    Option,
    ProviderUnavailable,
    Slot,
)
from providers.clickbook import mapping

Item = Mapping[str, Any]


def items(answer: Any, name: str) -> list[Item]:
    """The ``name`` items of an array answer (``{"PROVIDER": [...]}``), or of a bare list."""
    if answer is None:
        return []
    if isinstance(answer, Mapping):
        answer = answer.get(name)
        if answer is None:
            return []
    if isinstance(answer, Mapping):
        return [answer]
    if not isinstance(answer, list):
        raise ProviderUnavailable(f"ClickBook answered an unexpected {name} list")
    return [i for i in answer if isinstance(i, Mapping)]


def text(item: Item, key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value).strip()


def option(item: Item, id_key: str, *, currency: str = "") -> Option:
    """A provider, location, service or staff item as a choose-step option."""
    ident = text(item, id_key)
    if not ident:
        raise ProviderUnavailable(f"ClickBook answered an item without {id_key}")
    minutes = item.get("DURATION")
    price = _price(item.get("PRICE"), text(item, "CURRENCY") or currency)
    return Option(
        id=ident,
        label=text(item, "NAME") or ident,
        duration_minutes=int(minutes) if isinstance(minutes, int) and minutes > 0 else None,
        price=price,
        description=text(item, "DESCRIPTION") or None,
    )


def _price(value: Any, currency: str) -> Money | None:
    if value in (None, ""):
        return None
    try:
        return Money(Decimal(str(value)), currency or "EUR")
    except InvalidOperation:
        return None


def parse_local(value: Any, zone: ZoneInfo) -> datetime:
    """A local date-time of ClickBook's (GUESS: ISO without offset, in the location's zone)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ProviderUnavailable("ClickBook answered a time it cannot be read") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)


def format_day(day: date) -> str:
    return day.strftime(mapping.DATE_FORMAT)


def slot_of(item: Item, zone: ZoneInfo) -> Slot:
    return Slot(
        id=text(item, "TIMESLOTID"),
        start=parse_local(item.get("START"), zone),
        end=parse_local(item.get("END"), zone),
        resource_id=text(item, "STAFFID") or None,
        resource_name=text(item, "STAFFNAME") or None,
    )


def booking_of(item: Item, zone: ZoneInfo, customer_ref: str | None = None) -> Booking:
    return Booking(
        ref=text(item, "BOOKINGID"),
        start=parse_local(item.get("START"), zone),
        end=parse_local(item.get("END"), zone),
        service_name=text(item, "SERVICENAME"),
        resource_name=text(item, "STAFFNAME") or None,
        customer_ref=customer_ref or text(item, "CONTEXTID") or None,
    )


def customer_of(item: Item) -> CustomerDetails:
    """A GETUSERINFO or CLIENTFILE item as customer details (GUESS: these element names)."""
    return CustomerDetails(
        first_name=text(item, "FIRSTNAME"),
        last_name=text(item, "LASTNAME"),
        phone=text(item, "TELFIXED") or text(item, "TELMOBILE") or None,
        email=text(item, "EMAIL") or None,
        provider_ref=text(item, "CLIENTFILEID") or None,
    )


def fields(values: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """SETUSERFIELDS' field values (GUESS: a FIELDS array of NAME/VALUE pairs)."""
    return {
        "FIELD": [{mapping.FIELD_NAME: name, mapping.FIELD_VALUE: value} for name, value in values]
    }


def digits(phone: str | None) -> str:
    """A phone number for a numeric (N) field: its digits, with the leading + kept."""
    if not phone:
        return ""
    kept = "".join(ch for ch in phone if ch.isdigit())
    return ("+" + kept) if phone.strip().startswith("+") else kept


def client_file_fields(customer: CustomerDetails) -> list[tuple[str, str]]:
    """NewClientFile's fields for ``customer`` (KNOWN field names, seed 001)."""
    email = customer.email or ""
    return [
        (mapping.CF_FIRST_NAME, customer.first_name),
        (mapping.CF_LAST_NAME, customer.last_name),
        (mapping.CF_TEL_FIXED, digits(customer.phone)),
        (mapping.CF_TEL_MOBILE, ""),
        (mapping.CF_EMAIL_1, email),
        (mapping.CF_EMAIL_2, email),
    ]


def registration_fields(
    details: Mapping[str, str], email: str, password: str
) -> list[tuple[str, str]]:
    """NewUserRegistration's fields: what the user typed, the email and password twice (each
    was confirmed in the chat), the terms agreed to."""
    return [
        (mapping.REG_FIRST_NAME, details.get(mapping.REG_FIRST_NAME, "")),
        (mapping.REG_LAST_NAME, details.get(mapping.REG_LAST_NAME, "")),
        (mapping.REG_TEL_FIXED, digits(details.get(mapping.REG_TEL_FIXED))),
        (mapping.REG_TEL_MOBILE, digits(details.get(mapping.REG_TEL_MOBILE))),
        (mapping.REG_EMAIL_1, email),
        (mapping.REG_EMAIL_2, email),
        (mapping.REG_PASSWORD_1, password),
        (mapping.REG_PASSWORD_2, password),
        (mapping.REG_AGREE_TERMS, details.get(mapping.REG_AGREE_TERMS, mapping.FALSE)),
        (mapping.REG_TIMEZONE, details.get(mapping.REG_TIMEZONE, "")),
        (mapping.REG_COUNTRY, details.get(mapping.REG_COUNTRY, "")),
    ]


def choices(answer: Any, name: str) -> Sequence[Option]:
    """GETTIMEZONEINFO's (or GETCOUNTRIES') VALUE/LABEL items as options."""
    return [
        Option(id=text(i, "VALUE"), label=text(i, "LABEL") or text(i, "VALUE"))
        for i in items(answer, name)
        if text(i, "VALUE")
    ]
