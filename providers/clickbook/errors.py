"""The one place where ClickBook's answers become domain errors.

Three kinds of failure reach the adapter, and each is mapped here:

* **HTTP and network** (timeouts, refused connections, 5xx without a SOAP envelope): the
  platform is unavailable (:class:`ProviderUnavailable`, Retry); reads are retried first.
* **SOAP faults** (HTTP 500 with a ``soap:Fault``): a Domino agent error. A fault is never the
  user's doing, so it is :class:`ProviderUnavailable` too, except a fault that says the user is
  not signed in (GUESS: Domino's wording "not authorized"), which ends the session.
* **Result codes** in a RESULT (see :mod:`.mapping`; only 301 is public):

  ====  ==============================  ==============================================
  code  meaning (GUESS unless 301)      domain error
  ====  ==============================  ==============================================
  200   done                            none
  301   registration stub processed     none
  401   not signed in / session gone    AuthFailed (sign in again, choices kept)
  404   booking / stub / file unknown   NotFound
  409   timeslot no longer free         SlotTaken
  422   a field refused (ERRORS)        InvalidCustomerData for that field
  423   account already exists          AuthFailed(ACCOUNT_EXISTS): sign in instead
  ====  ==============================  ==============================================

  Any other code is a refusal we cannot explain (``BookingRefused`` with the platform's text).

An answer that is Domino's HTML login form instead of an envelope means the session is gone
(:data:`SESSION_ENDED`). The sign-in's own answers (401, "You are locked out") are mapped by
:func:`login_error`. No text built here ever contains a request: passwords travel in requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
from zeep.exceptions import Fault, TransportError, XMLSyntaxError

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
    platform_text,
)
from providers.clickbook import mapping

#: What a call was for: the same answer means different next steps.
Context = Literal["read", "session", "booking", "account"]

WRONG_PASSWORD = N_("The email or password was not accepted. Please try again.")
LOCKED_OUT = N_(
    "This ClickBook account is locked after too many attempts. "
    "Please try again later or reset your password on clickbook.net."
)
#: Statuses worth retrying for a read (the platform's front end restarting, a gateway).
RETRYABLE_STATUS = frozenset({502, 503, 504})

#: The registration and client-file fields, by what they hold (a refused field is asked again).
FIELD_OF = {
    mapping.REG_FIRST_NAME: CustomerField.FIRST_NAME,
    mapping.REG_LAST_NAME: CustomerField.LAST_NAME,
    mapping.REG_TEL_FIXED: CustomerField.PHONE,
    mapping.REG_TEL_MOBILE: CustomerField.PHONE,
    mapping.REG_EMAIL_1: CustomerField.EMAIL,
    mapping.REG_EMAIL_2: CustomerField.EMAIL,
    mapping.CF_EMAIL_1: CustomerField.EMAIL,
    mapping.CF_EMAIL_2: CustomerField.EMAIL,
}


class SessionGone(Exception):
    """Raised by the transport when Domino answers with its login form (no envelope)."""


class HttpFailure(Exception):
    """Raised by the transport for an HTTP error without a SOAP envelope (a gateway's page)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def retryable(error: BaseException) -> bool:
    """Whether a read that failed with ``error`` may be sent again."""
    if isinstance(error, httpx.TimeoutException | httpx.TransportError):
        return True
    if isinstance(error, HttpFailure):
        return error.status in RETRYABLE_STATUS
    return isinstance(error, TransportError) and error.status_code in RETRYABLE_STATUS


def call_error(error: BaseException, context: Context) -> ProviderError:
    """The domain error for an exception raised while calling an operation."""
    if isinstance(error, SessionGone):
        if context in ("read", "account"):
            # An anonymous operation behind Domino's login: the business's set-up, not the user.
            return ProviderUnavailable("ClickBook asked to sign in for a public operation")
        return AuthFailed(SESSION_ENDED, detail="ClickBook answered with its login form")
    if isinstance(error, HttpFailure):
        if error.status in (401, 403) and context != "read":
            return AuthFailed(
                SESSION_ENDED, detail=f"ClickBook refused the session ({error.status})"
            )
        return ProviderUnavailable(f"ClickBook failed (HTTP {error.status})")
    if isinstance(error, httpx.TimeoutException):
        return ProviderUnavailable("ClickBook did not answer in time")
    if isinstance(error, httpx.TransportError):
        return ProviderUnavailable("ClickBook could not be reached")
    if isinstance(error, Fault):
        text = str(error.message or "")
        if context != "read" and "not authori" in text.lower():
            return AuthFailed(SESSION_ENDED, detail="ClickBook refused the session (fault)")
        # The fault's own text is a diagnostic (it may name the agent): never shown.
        return ProviderUnavailable(f"ClickBook answered a SOAP fault ({text[:120]!r})")
    if isinstance(error, TransportError):
        if error.status_code in (401, 403) and context != "read":
            return AuthFailed(
                SESSION_ENDED, detail=f"ClickBook refused the session ({error.status_code})"
            )
        # Never str(error): zeep puts the answer's body in it.
        return ProviderUnavailable(f"ClickBook failed (HTTP {error.status_code})")
    if isinstance(error, XMLSyntaxError):
        return ProviderUnavailable("ClickBook answered something that is not a SOAP envelope")
    return ProviderUnavailable(f"ClickBook call failed ({type(error).__name__})")


def result_error(result: Mapping[str, Any], context: Context) -> ProviderError | None:
    """The domain error a RESULT's code stands for, or ``None`` when it succeeded."""
    code = _code(result.get(mapping.RESULT_CODE))
    if code in (mapping.CODE_OK, mapping.CODE_REGISTERED):
        return None
    text = platform_text(str(result.get(mapping.RESULT_MESSAGE) or "")) or None
    detail = f"ClickBook answered code {code}"
    if code == mapping.CODE_NOT_SIGNED_IN:
        return AuthFailed(SESSION_ENDED, detail=detail)
    if code == mapping.CODE_NOT_FOUND:
        return NotFound(text, detail=detail)
    if code == mapping.CODE_TAKEN:
        return SlotTaken(text, detail=detail)
    if code == mapping.CODE_EXISTS:
        return AuthFailed(text, reason=str(code), kind=Refusal.ACCOUNT_EXISTS, detail=detail)
    if code == mapping.CODE_INVALID:
        for name, message in field_errors(result).items():
            return InvalidCustomerData(FIELD_OF.get(name, name), detail=f"{name}: {message}")
        return BookingRefused(str(code), text, detail=detail)
    return BookingRefused(str(code), text, detail=detail)


def field_errors(result: Mapping[str, Any]) -> dict[str, str]:
    """The ERRORS of a RESULT: field name -> message (GUESS: FIELDERROR items)."""
    errors = result.get(mapping.RESULT_ERRORS) or {}
    items = errors.get("FIELDERROR") if isinstance(errors, Mapping) else errors
    found: dict[str, str] = {}
    for item in items or []:
        if isinstance(item, Mapping) and item.get("FIELD"):
            found[str(item["FIELD"])] = str(item.get("MESSAGE") or "")
    return found


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def login_error(status: int, body: str) -> ProviderError | None:
    """The domain error of the JSON sign-in's answer, or ``None`` when it may have succeeded."""
    if mapping.LOCKED_OUT_TEXT.lower() in body.lower():
        return AuthFailed(LOCKED_OUT, reason="locked_out", detail="the account is locked out")
    if status == 401:
        return AuthFailed(WRONG_PASSWORD, reason="wrong_password", detail="ClickBook answered 401")
    if status in RETRYABLE_STATUS or status >= 500:
        return ProviderUnavailable(f"the ClickBook sign-in failed (HTTP {status})")
    if status >= 400:
        return ProviderUnavailable(f"the ClickBook sign-in refused the request (HTTP {status})")
    return None
