"""The provider interface every booking platform adapter implements.

The conversation engine in :mod:`bot.engine` only ever talks to this interface. An adapter:

* declares the steps a booking needs on its platform (:meth:`BookingProvider.flow`);
* lists the options of each ``choose`` step, the bookable days and the slots of a day;
* books, cancels and (optionally) holds, reschedules and signs customers in;
* maps its platform's errors to the small set of :class:`ProviderError` subclasses below,
  in one place, so the engine can answer every failure with a clear message. An error's text
  reaches the user only when the adapter marked it: ``N_("...")`` for a sentence of ours
  (translated) or :func:`platform_text` for the platform's own words; anything else is a
  diagnostic for the logs.

Domain values are frozen dataclasses with ``to_json``/``from_json`` where the engine keeps them in
conversation state. Nothing in here may ever carry a credential: tokens, API keys and passwords
stay inside the adapter (in memory) and never reach a value the engine could persist.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# --------------------------------------------------------------------------------------------
# Steps: the flow is data
# --------------------------------------------------------------------------------------------

StepKind = Literal["choose", "date", "slot", "sign_in", "customer", "questions", "confirm"]

#: Option id a provider uses for "no preference" (any staff member, any calendar).
ANY_OPTION = "*"


@dataclass(frozen=True)
class Step:
    """One step of a booking flow as a provider declares it.

    ``key`` names what the step collects (``"service"``, ``"resource"``, ``"category"``,
    ``"location"``, ``"party_size"``...; for the other kinds the kind itself). ``max_picks`` > 1
    lets a ``choose`` step collect several options (ClicRDV's multi-service appointments).
    """

    kind: StepKind
    key: str = ""
    max_picks: int = 1

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.kind)

    def to_json(self) -> dict[str, Any]:
        # Defaults are left out: the flow is in every conversation state, written every update.
        data: dict[str, Any] = {"kind": self.kind}
        if self.key != self.kind:
            data["key"] = self.key
        if self.max_picks != 1:
            data["max_picks"] = self.max_picks
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        kind = data["kind"]
        key = (kind, data.get("key") or kind, int(data.get("max_picks", 1)))
        step = _PARSED_STEPS.get(key)
        if step is None:
            if len(_PARSED_STEPS) >= 1024:  # stored states are input: keep this bounded
                _PARSED_STEPS.clear()
            step = _PARSED_STEPS[key] = cls(kind=key[0], key=key[1], max_picks=key[2])
        return step


#: Steps are immutable and a flow has a handful, parsed from the state on every update: each
#: distinct one is built once.
_PARSED_STEPS: dict[tuple[Any, Any, int], Step] = {}


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Option:
    """Something the customer can pick in a ``choose`` step (a service, a staff member...)."""

    id: str
    label: str
    duration_minutes: int | None = None
    price: Money | None = None
    description: str | None = None


@dataclass(frozen=True)
class Selection:
    """What the customer has chosen so far; passed to every provider call of a conversation.

    ``choices`` maps a step key to the ids picked there. ``user_key`` is an opaque, stable key of
    the end user (e.g. ``"tg:42"``) that adapters use to find a signed-in session they keep in
    memory; it is not a secret.
    """

    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    language: str = "en"
    user_key: str = ""

    def one(self, key: str) -> str | None:
        """The single id chosen at step ``key``, or ``None`` (also for "any")."""
        ids = self.choices.get(key, ())
        if not ids or ids[0] == ANY_OPTION:
            return None
        return ids[0]

    def many(self, key: str) -> tuple[str, ...]:
        return tuple(i for i in self.choices.get(key, ()) if i != ANY_OPTION)


# --------------------------------------------------------------------------------------------
# Availability, holds, customers, bookings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A bookable start time. ``id`` is the platform's own reference (opaque to the engine)."""

    id: str
    start: datetime
    end: datetime
    resource_id: str | None = None
    resource_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Slot:
        return cls(
            id=data["id"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            resource_id=data.get("resource_id"),
            resource_name=data.get("resource_name"),
        )


class LazySlots(Sequence[Slot]):
    """The slots of a day, each built the first time it is read.

    An adapter that can list a day's free starts cheaply returns this instead of a list: a
    slot screen shows one page of them, and building every :class:`Slot` of a busy day (aware
    datetimes, ids) cost more than finding them. ``resource_ids`` answers which resources the
    slots belong to without building any.
    """

    __slots__ = ("_build", "_built", "_count", "resource_ids")

    def __init__(
        self, count: int, build: Callable[[int], Slot], resource_ids: frozenset[str | None]
    ) -> None:
        self._count = count
        self._build = build
        self._built: list[Slot | None] = [None] * count
        self.resource_ids = resource_ids

    def __len__(self) -> int:
        return self._count

    def _at(self, index: int) -> Slot:
        slot = self._built[index]
        if slot is None:
            slot = self._built[index] = self._build(index)
        return slot

    @overload
    def __getitem__(self, index: int) -> Slot: ...

    @overload
    def __getitem__(self, index: slice) -> list[Slot]: ...

    def __getitem__(self, index: int | slice) -> Slot | list[Slot]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("slot index out of range")
        return self._at(index)

    def __iter__(self) -> Iterator[Slot]:
        return (self._at(i) for i in range(self._count))

    def __repr__(self) -> str:
        return f"LazySlots({self._count} slots)"


def slot_resources(slots: Sequence[Slot]) -> frozenset[str | None]:
    """The resource ids of ``slots`` (without building the slots of a :class:`LazySlots`)."""
    if isinstance(slots, LazySlots):
        return slots.resource_ids
    return frozenset(s.resource_id for s in slots)


@dataclass(frozen=True)
class Hold:
    """A temporary reservation of a slot (Qmatic keeps it 15 minutes unless confirmed)."""

    id: str
    slot: Slot
    expires_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slot": self.slot.to_json(),
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Hold:
        return cls(
            id=data["id"],
            slot=Slot.from_json(data["slot"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
        )


class CustomerField(enum.StrEnum):
    """Customer details a platform may ask for, in the order the engine asks them."""

    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    PHONE = "phone"
    EMAIL = "email"
    BIRTH_DATE = "birth_date"
    PERSONAL_ID = "personal_id"
    ADDRESS = "address"


@dataclass(frozen=True)
class CustomerForm:
    """Which customer details a booking needs (``required``) or accepts (``optional``)."""

    required: frozenset[CustomerField]
    optional: frozenset[CustomerField] = frozenset()

    def fields(self) -> list[CustomerField]:
        wanted = self.required | self.optional
        return [f for f in CustomerField if f in wanted]


@dataclass(frozen=True)
class CustomerDetails:
    """The person an appointment is for. ``provider_ref`` is the platform's customer or fiche id."""

    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    email: str | None = None
    birth_date: date | None = None
    personal_id: str | None = None
    address: str | None = None
    provider_ref: str | None = None

    def get(self, name: CustomerField) -> str | None:
        value = getattr(self, name.value)
        if isinstance(value, date):
            return value.isoformat()
        return value or None


@dataclass(frozen=True)
class Fiche:
    """A customer record the platform keeps for a signed-in account (ClicRDV's fiches)."""

    provider_ref: str
    customer: CustomerDetails
    label: str = ""


@dataclass(frozen=True)
class Question:
    """A question asked before the customer's details (Qmatic screening/information questions).

    A ``screening`` question is yes/no; when ``required_answer`` is set and the customer answers
    otherwise, the booking ends with ``denied_message``. An ``information`` question takes text.
    """

    id: str
    text: str
    kind: Literal["screening", "information"]
    required: bool = True
    required_answer: bool | None = None
    denied_message: str | None = None
    clarification: str | None = None
    max_length: int = 2048


@dataclass(frozen=True)
class Booking:
    """An appointment the platform confirmed."""

    ref: str
    start: datetime
    end: datetime
    service_name: str
    resource_name: str | None = None
    price: Money | None = None
    customer_ref: str | None = None


@dataclass(frozen=True)
class Account:
    """A signed-in end-user account (ClicRDV, ClickBook). Holds no secret: the adapter keeps the
    session cookie in memory, keyed by :attr:`Selection.user_key`."""

    ref: str
    email: str
    display_name: str = ""


# --------------------------------------------------------------------------------------------
# Errors: every adapter maps its platform's failures to these, in one place
# --------------------------------------------------------------------------------------------


class UserText(str):
    """A text an adapter marked as fit to show the end user (see :class:`ProviderError`).

    Made only by :func:`N_` (our own sentence, translated where it is shown) and
    :func:`platform_text` (the platform's words, shown as they are); a plain ``str`` is never
    shown."""

    __slots__ = ()


class PlatformText(UserText):
    """Words the platform sent back: the business's own text, in the language the platform
    answered in (a refusal, a screening question's ``denied_message``). Not translated."""

    __slots__ = ()


def N_(message: str) -> UserText:
    """Marks ``message``, a literal English sentence of ours, as fit to show the end user.

    The provider-side twin of ``bot.i18n.N_`` (adapters do not import the bot):
    ``python -m bot.i18n_catalog`` extracts every ``N_("...")`` under ``providers/`` and its
    ``check`` refuses a catalog without a translation, so the engine, which runs every text it
    shows through ``gettext``, shows it in the user's language. The argument must be one literal
    (no f-string, no ``.format``): a message id built at run time has no translation.
    """
    return UserText(message)


def platform_text(text: str | None) -> PlatformText | None:
    """Marks ``text``, as the platform sent it, as fit to show the end user unchanged; ``None``
    when it is missing or blank. Never for a text of ours (``check`` refuses a literal here):
    our sentences go through :func:`N_` so that they get translated."""
    if text is None or not text.strip():
        return None
    return PlatformText(text)


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

    ``reason`` is the platform's code when it gave one (ClicRDV's ``EmailNotFound``), so the
    engine can say what happened rather than only "sign in again"."""

    def __init__(
        self, message: str | None = None, *, reason: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.reason = reason


class ProviderUnavailable(ProviderError):
    """The platform is down, slow or answered nonsense. Safe to retry a read."""


class NotFound(ProviderError):
    """The booking, service or slot does not exist (or no longer does)."""


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
    to another one...). ``reason`` is a stable code the engine can map to its own text; the
    platform's own refusal text, when it gave one, is the ``message``."""

    def __init__(
        self, reason: str, message: str | None = None, *, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.reason = reason


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

    @abstractmethod
    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        """Cancel a booking. :class:`NotFound` when it does not exist or is already cancelled."""

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

    async def sign_up(self, selection: Selection, email: str) -> Account:
        """Create an account for the end user."""
        raise NotImplementedError

    async def fiches(self, selection: Selection) -> Sequence[Fiche]:
        """The signed-in account's customer records in this business."""
        return ()

    async def aclose(self) -> None:  # noqa: B027 - optional, no-op by default
        """Release what the adapter owns (its own HTTP client, if it made one)."""
