"""The one place where bookingtime answers become domain errors.

Every answer of the Module API goes through :func:`api_result`, every answer of the token
endpoint through :func:`token_payload`. A refusal is read by its HTTP status first (401/403
credentials, 404 gone, 409 slot taken, 429 and 5xx unavailable), then by its messages (a
``parameter`` naming a customer detail, the slot, or a detail the bot never asks); whatever is
left unrecognised (an HTML error page, no message at all) becomes one clear generic refusal,
with the diagnostic logged. The platform's own ``messageList`` texts are passed on
marked with :func:`~providers.base.platform_text` (the user sees them as they are); our fixed
wording here is diagnostic only (never shown). Never a request body, header or token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from providers.base import (
    N_,
    AuthFailed,
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    SlotTaken,
    platform_text,
)
from providers.bookingtime import api

#: What a request was for; the same status means different things for a read and a booking.
Operation = Literal["read", "add", "move", "cancel"]

CREDENTIALS_REFUSED = "the platform refused the business's credentials"
#: What the user reads when a refusal says nothing we can read.
UNRECOGNISED_REFUSAL = N_(
    "The booking system refused this booking without saying why. "
    "Please try again later or contact the business."
)

log = logging.getLogger(__name__)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def api_result(response: httpx.Response, operation: Operation) -> Any:
    """The ``content`` of a successful answer, or the domain error the answer means."""
    body = _json(response)
    if response.is_success:
        if not isinstance(body, Mapping):
            raise ProviderUnavailable("the platform answered with a malformed body")
        # Seed 002 shows some answers without the envelope; the SDK always unwraps "content".
        if "content" in body or "messageList" in body:
            return body.get("content")
        return body
    error = api_error(response.status_code, body, operation)
    if isinstance(error, BookingRefused) and error.reason == "unrecognised":
        # The status, the content type and the message types say what came back; the raw body
        # is not logged (an error page may echo parts of the request).
        types = [str(m.get("type")) for m in api.failure_messages(body)]
        log.warning(
            "bookingtime: %s refused with %s (%s, %d bytes, message types %s), unrecognised",
            operation,
            response.status_code,
            response.headers.get("content-type", "no content type"),
            len(response.content),
            types,
        )
    raise error


def api_error(status: int, body: Any, operation: Operation) -> ProviderError:
    """The domain error for a refused Module API request: by status first, then message."""
    failures = api.failure_messages(body)
    text = platform_text(next((str(m["text"]) for m in failures if m.get("text")), None))
    if status in (401, 403):
        return AuthFailed(CREDENTIALS_REFUSED)
    if status == 404:
        return NotFound(text)
    if status == 429 or status >= 500:
        return ProviderUnavailable(f"the platform could not serve the request ({status})")
    if operation in ("add", "move"):
        if status in api.SLOT_TAKEN_STATUSES:
            return SlotTaken(text)
        if 400 <= status < 500:
            return _write_refusal(failures, text)
    if operation == "cancel" and status in (400, 409):
        # The adapter checks whether this means "already cancelled" (see adapter.cancel).
        return BookingRefused("cancel_refused", text)
    if status == 429:
        return ProviderUnavailable("the platform is rate limiting requests")
    return ProviderUnavailable(f"the platform refused the request ({status})")


def _write_refusal(failures: Any, text: Any) -> ProviderError:
    """A 4xx answer to a booking or a move, read from its messages."""
    for message in failures:
        parameter = str(message.get("parameter") or "")
        if not parameter:
            continue
        field = api.field_for_parameter(parameter)
        own_text = platform_text(str(message.get("text") or ""))
        if api.is_address_part(parameter):
            # The platform's "should not be blank" would have the same line typed again: say
            # what the one line must hold for the postcode and town to be sent.
            return InvalidCustomerData(
                CustomerField.ADDRESS,
                api.ADDRESS_PARTS_MISSING,
                detail=f"{parameter}: {own_text}",
            )
        if field is not None:
            return InvalidCustomerData(field, own_text)
        if api.is_slot_parameter(parameter):
            return SlotTaken(own_text)
        return BookingRefused(
            "missing_detail", api.missing_detail_text(parameter), detail=f"{parameter}: {own_text}"
        )
    if text:
        return BookingRefused("rejected", text)
    return BookingRefused("unrecognised", UNRECOGNISED_REFUSAL)


def token_payload(response: httpx.Response) -> Mapping[str, Any]:
    """The JSON of a successful token answer, or the domain error the answer means."""
    body = _json(response)
    if response.is_success:
        if not isinstance(body, Mapping):
            raise ProviderUnavailable("the authentication server answered with a malformed body")
        return body
    if response.status_code in (400, 401, 403):
        raise AuthFailed(CREDENTIALS_REFUSED)
    raise ProviderUnavailable(f"the authentication server failed ({response.status_code})")


def refresh_token_refused(response: httpx.Response) -> bool:
    """Whether the token endpoint refused the refresh token itself (expired or revoked), so the
    chain must start again from the client credentials. GUESS: OAuth2 ``invalid_grant`` with 400
    or 401; any 400/401 to a refresh grant is treated so, and a second refusal is final."""
    return response.status_code in (400, 401)


def token_string(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise ProviderUnavailable("the authentication server answered without a token")
    return value


def lifetime(payload: Mapping[str, Any], default: float) -> float:
    """``expires_in`` in seconds; documented both as a number and as a string."""
    raw = payload.get("expires_in")
    if raw is None or isinstance(raw, bool):
        return default
    try:
        seconds = float(str(raw).strip())
    except ValueError:
        return default
    return seconds if seconds > 0 else default
