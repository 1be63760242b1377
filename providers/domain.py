"""The domain values every adapter speaks: steps, options, slots, holds, customers, bookings.

Plain frozen dataclasses with ``to_json``/``from_json`` where the engine keeps them in conversation
state. Nothing in here may ever carry a credential: tokens, API keys and passwords stay inside the
adapter (in memory) and never reach a value the engine could persist.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, overload

from providers.texts import N_, UserText

# --------------------------------------------------------------------------------------------
# Steps: the flow is data
# --------------------------------------------------------------------------------------------

StepKind = Literal["choose", "date", "slot", "sign_in", "customer", "questions", "confirm"]

#: Option id a provider uses for "no preference" (any staff member, any calendar).
ANY_OPTION = "*"


#: What the engine asks at the usual ``choose`` steps; an adapter passes one of these as a
#: :attr:`Step.prompt`, or its own ``N_("...")``.
ASK_SERVICE = N_("Which service would you like?")
ASK_CATEGORY = N_("What kind of service?")
ASK_RESOURCE = N_("Who would you like to see?")
ASK_LOCATION = N_("Where would you like to go?")
ASK_PARTY_SIZE = N_("How many people is this booking for?")


@dataclass(frozen=True)
class Step:
    """One step of a booking flow as a provider declares it.

    ``key`` names what the step collects (``"service"``, ``"resource"``, ``"category"``,
    ``"location"``, ``"party_size"``...; for the other kinds the kind itself); the engine never
    interprets a ``choose`` step's key, it only hands it back to the adapter. ``prompt`` is the
    question a ``choose`` step asks, a message id marked with ``N_`` (translated where it is
    shown). ``max_picks`` > 1 lets a ``choose`` step collect several options (ClicRDV's
    multi-service appointments).
    """

    kind: StepKind
    key: str = ""
    max_picks: int = 1
    prompt: UserText | None = None

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
        if self.prompt is not None:
            data["prompt"] = str(self.prompt)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        kind = data["kind"]
        prompt = data.get("prompt")
        key = (kind, data.get("key") or kind, int(data.get("max_picks", 1)), prompt)
        step = _PARSED_STEPS.get(key)
        if step is None:
            if len(_PARSED_STEPS) >= 1024:  # stored states are input: keep this bounded
                _PARSED_STEPS.clear()
            step = _PARSED_STEPS[key] = cls(
                kind=key[0],
                key=key[1],
                max_picks=key[2],
                prompt=UserText(prompt) if isinstance(prompt, str) else None,
            )
        return step


#: Steps are immutable and a flow has a handful, parsed from the state on every update: each
#: distinct one is built once.
_PARSED_STEPS: dict[tuple[Any, Any, int, Any], Step] = {}


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
    """Which customer details a booking needs (``required``) or accepts (``optional``).

    The engine asks and checks every detail itself (names, phone, email, birth date, address).
    No form lists ``PERSONAL_ID``: no adapter asks an identifier of the customer (Qmatic's
    external customer identifier is generated by the adapter, kept in the fiche, never typed).
    """

    required: frozenset[CustomerField]
    optional: frozenset[CustomerField] = frozenset()

    def fields(self) -> list[CustomerField]:
        wanted = self.required | self.optional
        return [f for f in CustomerField if f in wanted]


SignUpKind = Literal["detail", "choice", "agree", "password"]


@dataclass(frozen=True)
class SignUpField:
    """One field of a platform's self-registration form (ClickBook's NewUserRegistration);
    every field is required (a platform's optional fields are not asked).

    ``key`` is the platform's field name (opaque to the engine). A ``detail`` is a customer
    detail (``customer_field``), asked and checked like the ``customer`` step asks it (its
    answer also fills the booking's details, so they are not asked twice); a ``choice`` offers
    ``options`` (``default`` first; the user may also type to search them); ``agree`` asks to
    accept terms at ``link``; the ``password`` is typed twice, each message deleted at once,
    and never stored (the engine keeps only a keyed digest of the first to compare)."""

    key: str
    kind: SignUpKind
    prompt: UserText | None = None
    customer_field: CustomerField | None = None
    options: tuple[Option, ...] = ()
    default: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class SignUpForm:
    """What a platform's self-registration asks, in order. The email is always asked first
    (by the ``sign_in`` step); the password, when the form has one, last."""

    fields: tuple[SignUpField, ...]

    def field(self, key: str) -> SignUpField | None:
        return next((f for f in self.fields if f.key == key), None)


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
    #: a business's staff member, who books for clients rather than for themselves
    staff: bool = False
