"""The one place where Qmatic's answers become domain errors.

Qmatic's own text answers in the ``Accept-Language`` we sent (the user's), so it is passed on for
the user as it is (:func:`~providers.base.platform_text`); our wording for credentials and
statuses is diagnostic only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, NoReturn

from providers.errors import (
    AuthFailed,
    BookingRefused,
    HoldExpired,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    SlotTaken,
)
from providers.qmatic import api
from providers.texts import N_, platform_text


class Operation(enum.Enum):
    """What a request was for; the same status means different things for different calls."""

    TOKEN = "token"  # noqa: S105 (an operation name)
    READ = "read"
    RESERVE = "reserve"
    CONFIRM = "confirm"
    RELEASE = "release"
    CANCEL = "cancel"
    UPDATE_CUSTOMER = "update_customer"
    SEARCH = "search"
    RESCHEDULE = "reschedule"


#: What the user sees when Qmatic answers 404 without a text of its own.
_NOT_FOUND_TEXT = {
    Operation.CANCEL: N_("This appointment no longer exists. It may have been cancelled."),
    Operation.UPDATE_CUSTOMER: N_("This appointment no longer exists. It may have been cancelled."),
    Operation.RESCHEDULE: N_("This appointment no longer exists. It may have been cancelled."),
    Operation.READ: N_("This service or branch is no longer available."),
}


def raise_for(
    status: int, body: Any, operation: Operation, headers: Mapping[str, str] | None = None
) -> NoReturn:
    """Map a Qmatic error answer to a domain error. The one place where this happens.

    Qmatic's own text answers in the ``Accept-Language`` we sent (the user's), so it is passed
    on for the user as it is; our wording for credentials and statuses is diagnostic only. The
    code and text are read from the body or, Orchestra-style, from the ``error_code`` and
    ``error_message`` headers (see :mod:`providers.qmatic.api`)."""
    code = api.error_code(body, headers)
    text = platform_text(api.error_message(body, headers))
    if operation is Operation.TOKEN or status == 401:
        raise AuthFailed("the booking platform refused the business's credentials")
    if status == 403:
        raise AuthFailed("the business's API client lacks a permission (scope) for this")
    if operation is Operation.CONFIRM and (
        status in (404, 410) or code == api.ERROR_RESERVATION_EXPIRED
    ):
        raise HoldExpired(text)
    if status == 409 or code == api.ERROR_SLOT_TAKEN:
        if operation is Operation.RESCHEDULE and code == api.ERROR_SERVICE_CHANGE:
            raise BookingRefused("service_cannot_change", text)
        raise SlotTaken(text)
    if status in (404, 410):
        raise NotFound(text or _NOT_FOUND_TEXT.get(operation))
    if status in (400, 422):
        field = api.error_field(body)
        if field is not None and field in api.FIELD_MAP:
            raise InvalidCustomerData(api.FIELD_MAP[field], text)
        if code == api.ERROR_SERVICE_CHANGE:
            raise BookingRefused("service_cannot_change", text)
        raise BookingRefused(code or "refused", text)
    raise ProviderUnavailable(f"the booking platform answered {status}")


def shape_error(exc: Exception) -> ProviderError:
    """A response that parsed but does not have the expected shape."""
    return ProviderUnavailable(f"the booking platform answered an unexpected shape ({exc})")
