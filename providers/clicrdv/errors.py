"""The one place where ClicRDV's answers become domain errors.

The table :data:`ERROR_TABLE` lists every code the appointment resource documents and what the
engine should do next. Why each choice:

========  ==================  ==========================================  ========================
code      name                appointment creation                        account creation
========  ==================  ==========================================  ========================
6         MaxRdvNumber        BookingRefused: a platform rule, the user    same
                              can only cancel another appointment
7         MintimeBetween      BookingRefused: pick another time            same
8         MaxRdvPeriod        BookingRefused: pick an earlier day          same
9         MintimeRdv          BookingRefused: pick a later time            same
(10?)     NotAvailable        SlotTaken: the engine offers fresh slots     same
11        EmailAlreadyExists  InvalidCustomerData(EMAIL): the new fiche's  AuthFailed: the address
                              address belongs to another user, ask for     has an account, so the
                              another one                                  next step is signing in
12        SameTimeRdv         BookingRefused: the user already has an      same
                              appointment then
13        EmailNotFound       AuthFailed: the account behind the session   AuthFailed
                              is unknown, sign in (or up) again
========  ==================  ==========================================  ========================

A 400 without a known code but with field errors becomes InvalidCustomerData for that field; other
400s on a booking become ``BookingRefused("Rejected")``. 401/403 on an Account call mean the
session is gone (AuthFailed, sign in again); on a catalog read they mean the business's API key
is refused, which the user cannot fix (ProviderUnavailable). 404 is NotFound.

What the user may see (``ProviderError.message``): the platform's text, marked with
:func:`~providers.base.platform_text` (it never contains the request's URL, so never the API key),
else the table's default text or another sentence of ours, marked with ``N_`` (translated). A
field error's text names the platform's field key, so it is a diagnostic only: the engine says
the detail was not accepted in its own words and asks for that field again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from providers.base import (
    N_,
    SESSION_ENDED,
    AuthFailed,
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Refusal,
    SlotTaken,
    UserText,
    platform_text,
)
from providers.clicrdv import guesses
from providers.clicrdv.api import FICHE_FIELDS

#: What a request was for; the same platform answer can mean different next steps.
Context = Literal["read", "session", "booking", "account"]

Outcome = Callable[["ErrorCode", str], ProviderError]  # (table row, text the user may see)


def _refused(row: ErrorCode, text: str) -> ProviderError:
    return BookingRefused(row.name, text, kind=row.kind)


def _slot_taken(row: ErrorCode, text: str) -> ProviderError:
    return SlotTaken(text)


def _email(row: ErrorCode, text: str) -> ProviderError:
    return InvalidCustomerData(CustomerField.EMAIL, text)


def _auth(row: ErrorCode, text: str) -> ProviderError:
    return AuthFailed(text, reason=row.name, kind=row.kind)


@dataclass(frozen=True)
class ErrorCode:
    number: int | None
    name: str
    #: Shown when the platform gave no text of its own (a sentence of ours, translated).
    default_text: UserText
    on_booking: Outcome
    on_account: Outcome
    #: What the code means, for the engine's text and next step.
    kind: Refusal = Refusal.OTHER


ERROR_TABLE: tuple[ErrorCode, ...] = (
    ErrorCode(
        6,
        "MaxRdvNumber",
        N_("You have reached the maximum number of upcoming appointments."),
        _refused,
        _refused,
        Refusal.TOO_MANY_BOOKINGS,
    ),
    ErrorCode(
        7,
        "MintimeBetween",
        N_("Another appointment is too close to this one."),
        _refused,
        _refused,
        Refusal.TOO_CLOSE_TO_ANOTHER,
    ),
    ErrorCode(
        8,
        "MaxRdvPeriod",
        N_("This appointment is too far away."),
        _refused,
        _refused,
        Refusal.TOO_FAR_AHEAD,
    ),
    ErrorCode(
        9,
        "MintimeRdv",
        N_("This appointment is too soon."),
        _refused,
        _refused,
        Refusal.TOO_SOON,
    ),
    ErrorCode(
        guesses.NOT_AVAILABLE_CODE,
        "NotAvailable",
        N_("This time slot is not available anymore."),
        _slot_taken,
        _slot_taken,
    ),
    ErrorCode(
        11,
        "EmailAlreadyExists",
        N_("This email address is already used by another registered user."),
        _email,
        _auth,
        Refusal.ACCOUNT_EXISTS,
    ),
    ErrorCode(
        12,
        "SameTimeRdv",
        N_("You already have an appointment at this time."),
        _refused,
        _refused,
        Refusal.SAME_TIME,
    ),
    ErrorCode(
        13,
        "EmailNotFound",
        N_("This email address does not exist."),
        _auth,
        _auth,
        Refusal.ACCOUNT_UNKNOWN,
    ),
)

_BY_NAME = {e.name.lower(): e for e in ERROR_TABLE}
_BY_NUMBER = {str(e.number): e for e in ERROR_TABLE if e.number is not None}
_FIELD_BY_FICHE = {fiche: CustomerField(field) for field, fiche in FICHE_FIELDS.items()}


def lookup(code: str | None, name: str | None) -> ErrorCode | None:
    """The table row for a code name (preferred) or number."""
    if name and name.lower() in _BY_NAME:
        return _BY_NAME[name.lower()]
    if code and code in _BY_NUMBER:
        return _BY_NUMBER[code]
    return None


def map_error(status: int, body: Any, raw_text: str, context: Context) -> ProviderError:
    """The domain error for a non-2xx answer (5xx are handled by ``providers.http.send``)."""
    if status == 404:
        return NotFound("this appointment or record does not exist (any more)")
    if status in (401, 403):
        if context == "read":
            return ProviderUnavailable("the platform refused the business's API key")
        return AuthFailed(SESSION_ENDED, detail=f"the session was refused ({status})")
    if status == 400 or status == 422:
        parsed = guesses.parse_error(body, raw_text)
        row = lookup(parsed.code, parsed.name)
        if row is not None:
            text = platform_text(parsed.message) or row.default_text
            outcome = row.on_account if context == "account" else row.on_booking
            return outcome(row, text)
        for fiche_field, message in parsed.fields.items():
            field = _FIELD_BY_FICHE.get(fiche_field)
            if field is not None:
                return InvalidCustomerData(field, detail=f"{fiche_field} {message}")
        if context in ("booking", "account"):
            return BookingRefused("Rejected", platform_text(parsed.message))
    return ProviderUnavailable(f"the platform refused the request ({status})")
