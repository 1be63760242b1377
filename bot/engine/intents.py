"""Crash-safe Confirm: the booking intent recorded before the platform is called, and its
settlement afterwards.

A tap on Confirm checkpoints the conversation and records a pending intent (what is being
booked, for whom) in one transaction (:func:`checkpoint`). Then:

* on ``local`` (``books_in_database``) the appointment, our booking row, its reminders and the
  settled intent commit in one transaction (:func:`book_in_database`): a crash leaves all of
  them or none;
* on a remote platform the turn that got the answer settles the intent in the transaction that
  records the booking (:func:`booked`, :func:`moved`) or the refusal (:func:`refused`).

An intent still pending afterwards (the process died, or the platform never answered) is
settled later, by looking the appointment up: :mod:`bot.engine.reconcile`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery import booking_changes
from bot.engine.state import BookingState, Choice
from providers.base import Booking, CustomerDetails, Money, Slot
from storage import bookings as booking_store
from storage import conversations
from storage import intents as intent_store
from storage.intent_models import BOOKED, FAILED
from storage.writes import BookingChange, Write

if TYPE_CHECKING:
    from bot.engine.turn import Turn
    from bot.services import Services

log = logging.getLogger(__name__)


# -- what an intent records --------------------------------------------------------------------
def customer_details(booking: BookingState) -> CustomerDetails:
    """The customer's details the booking sends to the platform."""
    cust = booking.customer or {}
    birth = cust.get("birth_date")
    return CustomerDetails(
        first_name=cust.get("first_name", ""),
        last_name=cust.get("last_name", ""),
        phone=cust.get("phone"),
        email=cust.get("email"),
        birth_date=date.fromisoformat(birth) if birth else None,
        personal_id=cust.get("personal_id"),
        address=cust.get("address"),
        provider_ref=booking.fiche_reference,
    )


def service_choice(booking: BookingState) -> Choice:
    for key in ("service", "services"):
        if key in booking.choices:
            return booking.choices[key]
    return Choice(ids=[], labels=[])


def request_of(turn: Turn) -> dict[str, Any]:
    """What the intent records: the booking as the state stores it, and who books it."""
    event = turn.event
    return {
        "b": turn.booking.to_stored(),
        "lang": turn.language,
        "first_name": event.first_name,
        "tg_lang": event.telegram_language,
    }


def confirmed(
    request: dict[str, Any],
    *,
    key: str,
    user_id: int,
    chat_id: int,
    business_id: int,
    result: Booking,
    now: datetime,
) -> booking_store.Confirmed:
    """Our record of the booking ``result`` that ``request`` (an intent's, key ``key``)
    made."""
    booking = BookingState.from_stored(request["b"])
    service = service_choice(booking)
    slot = Slot.from_json(booking.slot or {})
    # (the choose step's stored price, read here without importing the steps)
    price = result.price or (
        Money(Decimal(service.price[0]), service.price[1]) if service.price else None
    )
    return booking_store.Confirmed(
        user_id=user_id,
        chat_id=chat_id,
        first_name=request.get("first_name") or "",
        telegram_language=request.get("tg_lang"),
        business_id=business_id,
        result=result,
        service_name=", ".join(service.labels) or result.service_name,
        resource_name=slot.resource_name or result.resource_name,
        price=(Decimal(price.amount), price.currency) if price else None,
        selection={key: choice.ids for key, choice in booking.choices.items()},
        idempotency_key=key,
        fiche_id=booking.fiche_id,
        label=booking.label or "",
        details=booking.customer or {},
        now=now,
    )


# -- recording and settling in the Confirm turn ------------------------------------------------
async def checkpoint(services: Services, turn: Turn) -> bool:
    """Store the checkpointed state and record this Confirm's pending intent, in one
    transaction; ``False`` (nothing recorded) if another update changed the conversation."""
    record, now = turn.record, services.clock()
    key = f"{record.id}:{record.version + 1}"
    turn.state.intent = key
    record.data = turn.state.to_stored()
    async with services.engine.begin() as connection:
        if not await conversations.save(
            connection, record, expires_at=now + services.idle_timeout, now=now
        ):
            turn.state.intent = None
            return False
        booking = turn.booking
        await intent_store.record(
            connection,
            key=key,
            user_id=turn.event.user_id,
            chat_id=turn.event.chat_id,
            business_id=services.business_ids[booking.business],
            kind="reschedule" if booking.rescheduling else "book",
            request=request_of(turn),
            now=now,
        )
    return True


def booked(
    record: booking_store.Confirmed, now: datetime, *, told: bool = True, certain: bool = True
) -> Write:
    """The write of a booking the platform confirmed: the settled intent and our booking row
    (the engine adds its reminders). Nothing is written if the intent was settled as booked
    meanwhile (by a lookup that recorded it already). ``told``: written with the reply that
    says so (the Confirm turn's save); ``certain``: the platform's answer (see
    :func:`storage.intents.settle`), not a lookup's."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        key = record.idempotency_key
        settled = intent_store.settle(connection, key, BOOKED, now, told=told, certain=certain)
        if not await settled:
            return None
        view = await booking_store.record_confirmed(connection, record)
        await intent_store.link_booking(connection, key, view.id)
        return BookingChange("confirmed", view, now)

    return write


def moved(
    key: str,
    booking_id: int,
    result: Booking,
    now: datetime,
    *,
    told: bool = True,
    certain: bool = True,
) -> Write:
    """The write of a reschedule the platform confirmed: the settled intent and our booking
    row's new time (the engine moves its reminders). As :func:`booked`."""

    async def write(connection: AsyncConnection) -> BookingChange | None:
        settled = intent_store.settle(connection, key, BOOKED, now, told=told, certain=certain)
        if not await settled:
            return None
        view = await booking_store.moved(connection, booking_id, result.start, result.end)
        if view is None:
            return None
        await intent_store.link_booking(connection, key, view.id)
        return BookingChange("moved", view, now)

    return write


def refused(turn: Turn) -> None:
    """The platform refused this Confirm: nothing was booked (settled with the turn)."""
    key, now = turn.state.intent, turn.now
    turn.state.intent = None
    if key is not None:

        async def write(connection: AsyncConnection) -> None:
            await intent_store.settle(connection, key, FAILED, now, told=True)

        turn.writes.append(write)


async def book_in_database(
    turn: Turn, record_of: Callable[[Booking], booking_store.Confirmed]
) -> Booking:
    """Book on ``local``: the appointment, our booking row, its reminders and the settled
    intent in one transaction."""
    services, booking = turn.services, turn.booking
    slot = Slot.from_json(booking.slot or {})
    async with services.engine.begin() as connection:
        result = await turn.provider.book_in(
            connection, turn.selection(), slot, customer_details(booking)
        )
        change = await booked(record_of(result), turn.now, told=False)(connection)
        if change is not None:
            await booking_changes.follow(connection, change, turn.business)
    key = turn.state.intent
    turn.state.intent = None
    if key is not None:
        turn.writes.append(told(key, turn.now))  # with the "Booked!" reply's state
    return result


def told(key: str, now: datetime) -> Write:
    """The write noting that the user was told the outcome of the intent ``key``."""

    async def write(connection: AsyncConnection) -> None:
        await intent_store.mark_told(connection, key, now)

    return write


__all__ = [
    "book_in_database",
    "booked",
    "checkpoint",
    "confirmed",
    "customer_details",
    "moved",
    "refused",
    "request_of",
    "service_choice",
    "told",
]
