"""The domain errors: every adapter maps its platform's failures to these, in one place.

An error's text reaches the user only when the adapter marked it (:mod:`providers.texts`):
``N_("...")`` for a sentence of ours (translated) or ``platform_text`` for the platform's own words;
anything else is a diagnostic for the logs. A refusal carries a :class:`Refusal` kind, so the
engine answers it without knowing any platform's codes.
"""

from __future__ import annotations

import enum

from providers.domain import CustomerField
from providers.texts import N_, UserText


class Refusal(enum.StrEnum):
    """Why a platform refused a booking or an account, in domain words.

    Each adapter maps its platform's rule codes to one of these in its ``errors`` module; the
    engine picks what to tell the user and where to send them by kind, and so never needs to
    know any platform's codes."""

    OTHER = "other"
    #: The customer already has as many upcoming appointments as the business allows.
    TOO_MANY_BOOKINGS = "too_many_bookings"
    #: Another appointment of the customer's is too close to this one.
    TOO_CLOSE_TO_ANOTHER = "too_close_to_another"
    #: The day is further ahead than the business takes bookings.
    TOO_FAR_AHEAD = "too_far_ahead"
    #: The time is too soon to book online.
    TOO_SOON = "too_soon"
    #: The customer already has an appointment at that time.
    SAME_TIME = "same_time"
    #: An account already exists with the customer's email: sign in instead.
    ACCOUNT_EXISTS = "account_exists"
    #: No account was found for the customer's email.
    ACCOUNT_UNKNOWN = "account_unknown"


class ProviderError(Exception):
    """Base of the domain errors. Two texts, kept apart so that no developer wording reaches a
    user:

    ``message``
        what the engine may show the user, or ``None`` (the engine then shows its own
        translated wording). Only a :class:`UserText` gets here: a sentence of ours marked with
        :func:`N_` (translated) or the platform's words marked with :func:`platform_text`
        (shown as they are). Any other string passed as ``message`` is a diagnostic: it goes
        to ``detail`` and ``message`` stays ``None``. The rule holds at construction, so every
        place that shows ``error.message`` is safe, whichever adapter raised it.
    ``detail``
        diagnostic text for logs and tests (``str(error)``); never shown.

    Neither ever carries a credential; platform texts never echo a request.
    """

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        shown = message if isinstance(message, UserText) else None
        self.message: UserText | None = shown
        if detail is None and shown is None:
            detail = message
        self.detail: str | None = detail
        super().__init__(self.detail or message or self.__class__.__name__)


class SlotTaken(ProviderError):
    """The slot went between showing it and booking it."""


class HoldExpired(ProviderError):
    """The temporary reservation ran out before the booking was confirmed."""


class AuthFailed(ProviderError):
    """The end user's email/password (or the business's credentials) were refused.

    ``reason`` is the platform's code when it gave one (ClicRDV's ``EmailNotFound``), for the
    logs; ``kind`` is what it means (:class:`Refusal`), so the engine can say what happened
    rather than only "sign in again"."""

    def __init__(
        self,
        message: str | None = None,
        *,
        reason: str | None = None,
        kind: Refusal = Refusal.OTHER,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.reason = reason
        self.kind = kind


#: The :class:`AuthFailed` text of an adapter whose end-user sessions live in its memory
#: (ClicRDV, ClickBook) when the session a call needs is missing or the platform dropped it.
SESSION_ENDED = N_("Your session with the booking system has ended. Please sign in again.")


class ProviderUnavailable(ProviderError):
    """The platform is down, slow or answered nonsense. Safe to retry a read."""


class NotFound(ProviderError):
    """The booking, service or slot does not exist (or no longer does)."""


class CancelUnconfirmed(ProviderError):
    """A cancel the platform did not confirm: it answered "not found" and no lookup showed the
    appointment gone, so it may well still be booked (a guessed path, a session the platform
    ignored). The booking stays listed; the user is told we could not confirm it."""


class NotBookable(ProviderError):
    """The business does not take online bookings right now (ClicRDV group closed...)."""


class InvalidCustomerData(ProviderError):
    """The platform refused one of the customer's details; ``field`` names it."""

    def __init__(
        self, field: CustomerField | str, message: str | None = None, *, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.field = field


class BookingRefused(ProviderError):
    """The platform refused the booking under one of its rules (too many appointments, too close
    to another one...). ``reason`` is the platform's code (for the logs and the adapter itself);
    ``kind`` is what it means (:class:`Refusal`), which the engine maps to its own text and next
    step; the platform's own refusal text, when it gave one, is the ``message``."""

    def __init__(
        self,
        reason: str,
        message: str | None = None,
        *,
        kind: Refusal = Refusal.OTHER,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.reason = reason
        self.kind = kind
