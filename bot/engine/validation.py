"""Checks of what a customer types. Each returns the cleaned value or raises
:class:`InvalidInput` with the msgid of a message that says what is expected."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from babel.core import get_global
from email_validator import EmailNotValidError, validate_email

from providers.base import CustomerField

MAX_NAME = 100
MAX_EMAIL = 254
MAX_ADDRESS = 300
MAX_LABEL = 40
MAX_ANSWER = 2048
#: longer than any phone number written with spaces and a prefix (E.164 has 15 digits)
MAX_PHONE_TEXT = 40


class InvalidInput(ValueError):
    def __init__(self, message_id: str, **kwargs: object) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.kwargs = kwargs


def _no_controls(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == " ")


def clean_name(text: str) -> str:
    """A person's name in any script (Latin, Arabic, Hebrew, CJK...), no emoji or symbols."""
    name = " ".join(_no_controls(text).split())
    if not name:
        raise InvalidInput("Please type a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            "That is too long for a name (at most {limit} characters).", limit=MAX_NAME
        )
    for ch in name:
        category = unicodedata.category(ch)
        if not (category[0] in "LM" or ch in " -'’."):
            raise InvalidInput("A name can only contain letters, spaces, hyphens and apostrophes.")
    if not any(unicodedata.category(ch)[0] == "L" for ch in name):
        raise InvalidInput("Please type a name.")
    return name


def phone_region(zone: ZoneInfo, country: str | None = None) -> str | None:
    """The business's country (ISO 3166 code), for numbers typed without their country code:
    ``country`` when the business configures one, else its time zone's ("Europe/Paris" ->
    "FR"); ``None`` for a zone of no one country ("UTC")."""
    if country:
        return country
    territories: Mapping[str, str] = get_global("zone_territories")
    return territories.get(str(zone.key))


def phone_example(region: str | None) -> str:
    """A mobile number as it is typed in ``region`` ("06 12 34 56 78" in France), or in the
    international form when there is no region to read national numbers in."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if region is None or number is None:
        return "+33 6 12 34 56 78"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def clean_phone(text: str, region: str | None = None) -> str:
    """A valid phone number, in E.164 (``+33612345678``). Typed the national way
    (``06 12 34 56 78``) it is read in ``region``, the business's country; without a region
    only the international form is understood."""
    raw = text.strip()
    if len(raw) > MAX_PHONE_TEXT:
        raise InvalidInput("That does not look like a phone number.")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidInput(
                "Please include the country code, for example +33 6 12 34 56 78."
            ) from None
        raise InvalidInput("That does not look like a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("That does not look like a phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def readable_phone(e164: str) -> str:
    """A stored number grouped the international way for reading (``+33 6 12 34 56 78``)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clean_shared_phone(text: str) -> str:
    """A number from Telegram's contact button: always international, sometimes without the
    leading ``+``."""
    digits = re.sub(r"\D", "", text)
    return clean_phone("+" + digits)


def clean_email(text: str) -> str:
    """An email address of valid syntax, its domain normalised (no network: deliverability is
    the platform's and the mailbox's business)."""
    email = text.strip()
    if len(email) > MAX_EMAIL:
        raise InvalidInput("That does not look like an email address (name@example.com).")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("That does not look like an email address (name@example.com).") from None
    return str(checked.normalized)


def clean_birth_date(text: str, today: date) -> date:
    raw = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"):
        try:
            value = datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
        if not date(1900, 1, 1) <= value <= today:
            raise InvalidInput("Please type a date of birth in the past.")
        return value
    raise InvalidInput("Please type the date of birth as DD/MM/YYYY.")


def clean_address(text: str) -> str:
    value = " ".join(_no_controls(text).split())
    if len(value) < 5:
        raise InvalidInput("Please type the full address.")
    if len(value) > MAX_ADDRESS:
        raise InvalidInput(
            "That address is too long (at most {limit} characters).", limit=MAX_ADDRESS
        )
    return value


def clean_label(text: str) -> str:
    value = " ".join(_no_controls(text).split())
    if not value:
        raise InvalidInput("Please type a short label, for example: my daughter.")
    if len(value) > MAX_LABEL:
        raise InvalidInput(
            "Please keep the label short (at most {limit} characters).", limit=MAX_LABEL
        )
    return value


def clean_answer(text: str, limit: int = MAX_ANSWER) -> str:
    value = _no_controls(text).strip()
    if not value:
        raise InvalidInput("Please type an answer.")
    if len(value) > limit:
        raise InvalidInput("That answer is too long (at most {limit} characters).", limit=limit)
    return value


def clean_field(
    field: CustomerField,
    text: str,
    today: date,
    region: str | None = None,
) -> str:
    """Validate ``text`` for ``field``; the value is returned as a string for the state.
    ``region``: the business's country, for phone numbers typed without their country code."""
    if field in (CustomerField.FIRST_NAME, CustomerField.LAST_NAME):
        return clean_name(text)
    if field is CustomerField.PHONE:
        return clean_phone(text, region)
    if field is CustomerField.EMAIL:
        return clean_email(text)
    if field is CustomerField.BIRTH_DATE:
        return clean_birth_date(text, today).isoformat()
    return clean_address(text)
