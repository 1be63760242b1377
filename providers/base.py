"""The provider interface every booking platform adapter implements.

The conversation engine in :mod:`bot.engine` only ever talks to this interface. An adapter:

* declares the steps a booking needs on its platform (:meth:`BookingProvider.flow`), each with
  the question the engine asks there;
* lists the options of each ``choose`` step, the bookable days and the slots of a day;
* books, cancels and (optionally) holds, reschedules and signs customers in;
* maps its platform's errors to the small set of :class:`ProviderError` subclasses, in one place
  (its package's ``errors`` module), so the engine can answer every failure with a clear message.

The domain values live in :mod:`providers.domain`, the errors in :mod:`providers.errors`, the
texts fit for the user in :mod:`providers.texts`; they are all importable from here, the one name
an adapter or the engine needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from providers.domain import (
    ANY_OPTION,
    ASK_CATEGORY,
    ASK_LOCATION,
    ASK_PARTY_SIZE,
    ASK_RESOURCE,
    ASK_SERVICE,
    Account,
    Booking,
    CustomerDetails,
    CustomerField,
    CustomerForm,
    Fiche,
    Hold,
    LazySlots,
    Money,
    Option,
    Question,
    Selection,
    SignUpField,
    SignUpForm,
    Slot,
    Step,
    StepKind,
    slot_resources,
)
from providers.errors import (
    SESSION_ENDED,
    AuthFailed,
    BookingRefused,
    CancelUnconfirmed,
    HoldExpired,
    InvalidCustomerData,
    NotBookable,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Refusal,
    SlotTaken,
)
from providers.texts import N_, PlatformText, UserText, platform_text

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

__all__ = [
    "ANY_OPTION",
    "ASK_CATEGORY",
    "ASK_LOCATION",
    "ASK_PARTY_SIZE",
    "ASK_RESOURCE",
    "ASK_SERVICE",
    "N_",
    "SESSION_ENDED",
    "Account",
    "AuthFailed",
    "Booking",
    "BookingProvider",
    "BookingRefused",
    "CancelUnconfirmed",
    "CustomerDetails",
    "CustomerField",
    "CustomerForm",
    "Fiche",
    "Hold",
    "HoldExpired",
    "InvalidCustomerData",
    "LazySlots",
    "Money",
    "NotBookable",
    "NotFound",
    "Option",
    "PlatformText",
    "ProviderDeps",
    "ProviderError",
    "ProviderUnavailable",
    "Question",
    "Refusal",
    "Selection",
    "SignUpField",
    "SignUpForm",
    "Slot",
    "SlotTaken",
    "Step",
    "StepKind",
    "UserText",
    "platform_text",
    "slot_resources",
    "utc_now",
]

# --------------------------------------------------------------------------------------------
# What an adapter is given
# --------------------------------------------------------------------------------------------


def utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


@dataclass
class ProviderDeps:
    """Everything an adapter takes from outside, so tests can inject fakes.

    ``secrets`` holds the values of the environment variables the business configuration names;
    an adapter reads its credentials from there and must never copy them anywhere else.
    """

    business_slug: str
    timezone: ZoneInfo
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    http: httpx.AsyncClient | None = None
    session_factory: async_sessionmaker[AsyncSession] | None = None
    clock: Callable[[], datetime] = utc_now
    catalog_ttl: timedelta = timedelta(minutes=10)


class BookingProvider(ABC):
    """The async interface of a booking platform. One instance serves one business.

    Required methods are abstract; optional capabilities (holds, questions, sign-in, fiches,
    rescheduling) have defaults that say "not supported" and are switched on by the class
    attributes below, which the engine reads to decide what to offer.
    """

    kind: ClassVar[str]
    supports_holds: ClassVar[bool] = False
    supports_reschedule: ClassVar[bool] = False
    supports_sign_in: ClassVar[bool] = False
    #: the platform can be asked what it booked for a customer (:meth:`find_booking`): a
    #: Confirm whose answer was lost (timeout, crash) is then settled by looking it up
    supports_lookup: ClassVar[bool] = False
    #: the platform is our own database: :meth:`book_in` books in the caller's transaction,
    #: so the booking, our record of it and its reminders commit together or not at all
    books_in_database: ClassVar[bool] = False

    def __init__(self, deps: ProviderDeps) -> None:
        self.deps = deps

    # -- the flow ------------------------------------------------------------------------------
    @abstractmethod
    async def flow(self, selection: Selection) -> Sequence[Step]:
        """The steps of a booking, in order, ending with ``confirm``."""

    @abstractmethod
    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        """The options of the ``choose`` step ``step_key``, given the earlier choices."""

    @abstractmethod
    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        """Days between ``first`` and ``last`` (inclusive, business time zone) with a free slot."""

    @abstractmethod
    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        """The free slots of ``day`` (business time zone), earliest first."""

    async def customer_form(self, selection: Selection) -> CustomerForm:
        """Which customer details this booking needs. Default: name, phone and email."""
        return CustomerForm(
            required=frozenset(
                {
                    CustomerField.FIRST_NAME,
                    CustomerField.LAST_NAME,
                    CustomerField.PHONE,
                    CustomerField.EMAIL,
                }
            )
        )

    async def questions(self, selection: Selection) -> Sequence[Question]:
        """Questions to ask before the customer's details (none by default)."""
        return ()

    # -- booking -------------------------------------------------------------------------------
    @abstractmethod
    async def book(
        self,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
        *,
        answers: Mapping[str, str] | None = None,
        hold: Hold | None = None,
    ) -> Booking:
        """Book ``slot`` for ``customer``. Never retried blindly by the adapter."""

    async def book_in(
        self,
        connection: AsyncConnection,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
    ) -> Booking:
        """:meth:`book` on ``connection``, in the caller's transaction (only when
        :attr:`books_in_database`)."""
        raise NotImplementedError

    def customer_reference(self, customer: CustomerDetails) -> str | None:
        """The reference a booking will file ``customer`` under, when the adapter chooses it
        itself (Qmatic's customer identifier), else ``None``. The engine asks before the call
        and keeps it with the booking (``customer.provider_ref`` then), so the booking intent
        records what was sent and a lookup after a lost answer can find it."""
        return None

    async def find_booking(
        self, selection: Selection, slot: Slot, customer: CustomerDetails
    ) -> Booking | None:
        """The confirmed appointment at ``slot`` for ``customer`` (what a booking or a
        reschedule sent), or ``None`` when the platform has none (only when
        :attr:`supports_lookup`). Raises :class:`ProviderError` when it cannot answer."""
        raise NotImplementedError

    @abstractmethod
    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        """Cancel a booking. :class:`NotFound` when it does not exist or is already cancelled."""

    async def still_booked(
        self, booking_ref: str, selection: Selection, customer_ref: str | None = None
    ) -> bool | None:
        """Whether ``booking_ref`` still stands on the platform, looked up: ``True`` (booked),
        ``False`` (gone or cancelled), ``None`` when this platform offers no lookup.

        Asked after :meth:`cancel` answered :class:`NotFound`: "not found" from a guessed path
        or from a session the platform ignored does not mean cancelled, so only a lookup that
        shows the appointment gone lets the engine say so. ``customer_ref`` is the platform's
        reference of the person the booking is for, when we keep one (Qmatic looks
        appointments up by it)."""
        return None

    async def reschedule(self, booking_ref: str, selection: Selection, slot: Slot) -> Booking:
        """Move a booking to another slot of the same service."""
        raise NotImplementedError

    # -- optional capabilities ----------------------------------------------------------------
    async def hold(self, selection: Selection, slot: Slot) -> Hold:
        """Reserve ``slot`` temporarily (only when :attr:`supports_holds`)."""
        raise NotImplementedError

    async def release(self, hold: Hold) -> None:  # noqa: B027 - optional, no-op by default
        """Release a hold. Releasing an expired or unknown hold is not an error."""

    async def sign_in(self, selection: Selection, email: str, password: str) -> Account:
        """Sign the end user in; the session stays in the adapter's memory only."""
        raise NotImplementedError

    async def sign_up_form(self, selection: Selection) -> SignUpForm | None:
        """The fields a self-registration asks after the email; ``None`` (the default): the
        platform creates the account from the email alone and mails the user a password."""
        return None

    async def sign_up(
        self,
        selection: Selection,
        email: str,
        *,
        details: Mapping[str, str] | None = None,
        password: str | None = None,
    ) -> Account:
        """Create an account for the end user. With a :meth:`sign_up_form`, ``details`` holds
        its answers by field key and ``password`` the password typed twice; the adapter signs
        the new account in when the platform allows it, and drops the password."""
        raise NotImplementedError

    async def fiches(self, selection: Selection) -> Sequence[Fiche]:
        """The signed-in account's customer records in this business."""
        return ()

    async def start(self) -> list[str]:
        """Prepare what the adapter needs before its first customer (ClickBook: read its
        WSDLs). Returns the problems found, each a sentence for the operator (never a
        secret); the default has nothing to prepare."""
        return []

    async def check_sign_in(self) -> str | None:
        """Sign in with the business's configured check credentials, if the adapter has any
        (``bookbot check-provider``): what was signed in as, or ``None`` when there is
        nothing to sign in with. Raises the platform's :class:`ProviderError` when refused."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional, no-op by default
        """Release what the adapter owns (its own HTTP client, if it made one)."""
