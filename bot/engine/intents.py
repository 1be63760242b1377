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
settled by looking the appointment up with what was sent (``find_booking``), when the user
comes back (:func:`settle_on_return`) or by the minute's sweep (:func:`settle_abandoned`), which
tells the user through the outbox. A platform that cannot look bookings up settles it as
"unknown", and the user is told that, honestly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery import reminders
from bot.delivery.outbox import enqueue_notice
from bot.engine.state import BookingState, Choice
from bot.engine.summary import when
from bot.i18n import N_, gettext
from providers.base import Booking, CustomerDetails, Money, ProviderError, Selection, Slot
from storage import bookings as booking_store
from storage import conversations
from storage import intents as intent_store
from storage.intent_models import BOOKED, FAILED, PENDING, UNKNOWN
from storage.intents import IntentView
from storage.writes import BookingChange, Write

if TYPE_CHECKING:
    from bot.engine.turn import Turn
    from bot.services import Services

log = logging.getLogger(__name__)

#: How often the sweep asks a platform that does not answer before settling as "unknown".
MAX_LOOKUPS = 10
#: Settled intents are kept this long (they only serve to tell the user the outcome).
KEEP_SETTLED = timedelta(days=2)

#: What the user is told, by outcome and kind of Confirm.
OUTCOME_TEXT = {
    (BOOKED, "book"): N_(
        "✅ Your last confirmation went through: {service} on {when}. "
        "To cancel or change it, send /mybookings."
    ),
    (BOOKED, "reschedule"): N_("✅ Your last change went through: {service} is now on {when}."),
    (FAILED, "book"): N_("Your last confirmation did not go through: nothing was booked."),
    (FAILED, "reschedule"): N_(
        "Your last change did not go through: your appointment keeps its time."
    ),
    (UNKNOWN, "book"): N_(
        "We could not find out whether your last confirmation went through. "
        "Please check with the business before you book again."
    ),
    (UNKNOWN, "reschedule"): N_(
        "We could not find out whether your last change went through. "
        "Please check with the business."
    ),
}


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


def _request(turn: Turn) -> dict[str, Any]:
    """What the intent records: the booking as the state stores it, and who books it."""
    event = turn.event
    return {
        "b": turn.booking.to_stored(),
        "lang": turn.language,
        "first_name": event.first_name,
        "tg_lang": event.telegram_language,
    }


def confirmed(
    request: dict[str, Any], intent: IntentView, result: Booking, now: datetime
) -> booking_store.Confirmed:
    """Our record of the booking ``result`` the intent's request made."""
    booking = BookingState.from_stored(request["b"])
    service = service_choice(booking)
    slot = Slot.from_json(booking.slot or {})
    # (the choose step's stored price, read here without importing the steps)
    price = result.price or (
        Money(Decimal(service.price[0]), service.price[1]) if service.price else None
    )
    return booking_store.Confirmed(
        user_id=intent.user_id,
        chat_id=intent.chat_id,
        first_name=request.get("first_name") or "",
        telegram_language=request.get("tg_lang"),
        business_id=intent.business_id,
        result=result,
        service_name=", ".join(service.labels) or result.service_name,
        resource_name=slot.resource_name or result.resource_name,
        price=(Decimal(price.amount), price.currency) if price else None,
        selection={key: choice.ids for key, choice in booking.choices.items()},
        idempotency_key=intent.idempotency_key,
        fiche_id=booking.fiche_id,
        label=booking.label or "",
        details=booking.customer or {},
        now=now,
    )


def in_turn(turn: Turn) -> tuple[IntentView, dict[str, Any]]:
    """The intent the turn's checkpoint recorded, as it was written."""
    key = turn.state.intent
    if key is None:
        raise LookupError("no intent recorded in this turn")
    booking = turn.booking
    view = IntentView(
        id=0,
        idempotency_key=key,
        user_id=turn.event.user_id,
        chat_id=turn.event.chat_id,
        business_id=turn.services.business_ids[booking.business],
        kind="reschedule" if booking.rescheduling else "book",
        request={},
        status=PENDING,
        booking_id=None,
        created_at=turn.now,
        resolved_at=None,
        told_at=None,
        lookups=0,
    )
    return view, _request(turn)


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
            request=_request(turn),
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
            await reminders.follow(connection, change, turn.business)
    key = turn.state.intent
    turn.state.intent = None
    if key is not None:
        turn.writes.append(_told(key, turn.now))  # with the "Booked!" reply's state
    return result


# -- settling later ----------------------------------------------------------------------------
async def look_up(services: Services, intent: IntentView) -> str | None:
    """Settle the pending ``intent`` by asking its platform what it booked: the new status,
    or ``None`` when the platform did not answer (still pending)."""
    slug = services.business_slugs.get(intent.business_id)
    provider = services.providers.get(slug) if slug else None
    request = intent.request
    if provider is None or not provider.supports_lookup or "b" not in request:
        return await _settle_alone(services, intent, UNKNOWN)
    booking = BookingState.from_stored(request["b"])
    selection = Selection(
        choices={key: tuple(choice.ids) for key, choice in booking.choices.items()},
        language=str(request.get("lang") or "en"),
        user_key=f"tg:{intent.user_id}",
    )
    try:
        found = await provider.find_booking(
            selection, Slot.from_json(booking.slot or {}), customer_details(booking)
        )
    except ProviderError as failure:
        log.warning("could not look a booking up: %s", type(failure).__name__)
        return None
    if found is None:
        return await _settle_alone(services, intent, FAILED)
    now = services.clock()
    if intent.kind == "reschedule" and booking.rescheduling is not None:
        write = moved(
            intent.idempotency_key, booking.rescheduling, found, now, told=False, certain=False
        )
    else:
        write = booked(confirmed(request, intent, found, now), now, told=False, certain=False)
    async with services.engine.begin() as connection:
        change = await write(connection)
        if change is not None:
            business = services.business(services.business_slugs[intent.business_id])
            await reminders.follow(connection, change, business)
    return BOOKED


async def _settle_alone(services: Services, intent: IntentView, status: str) -> str:
    async with services.engine.begin() as connection:
        await intent_store.settle(connection, intent.idempotency_key, status, services.clock())
    return status


async def outcome_text(services: Services, intent: IntentView, status: str, language: str) -> str:
    """What the user is told about a settled intent, in ``language``."""
    message = OUTCOME_TEXT[(status, intent.kind if intent.kind == "reschedule" else "book")]
    if status != BOOKED:
        return gettext(language, message)
    settled = await intent_store.find(services, intent.idempotency_key)
    row = None
    if settled is not None and settled.booking_id is not None:
        row = await booking_store.owned(services, settled.booking_id, intent.user_id)
    if row is None:
        return gettext(language, message, service="-", when="-")
    zone = services.business(services.business_slugs[row.business_id]).zone
    return gettext(
        language, message, service=row.service_name, when=when(row.start_at, zone, language)
    )


async def settle_on_return(turn: Turn) -> bool:
    """The user is back after a Confirm that was not settled in its own turn: settle it (look
    it up if needed), tell them the outcome unless they know it, and bring the state in line.
    ``True`` when their update was a tap on a screen from before the outcome: it is not acted
    on (the caller shows where they are)."""
    services, state = turn.services, turn.state
    key = state.intent
    # A turn that got no answer stored its state without "confirming" and told the user so
    # ("did not answer... try again"); a crash left the checkpoint's state, with it.
    warned = state.confirming is None
    state.intent = state.confirming = None
    intent = await intent_store.find(services, key) if key else None
    if intent is None:
        return False
    status = intent.status
    if status == PENDING:
        status = await look_up(services, intent) or await _settle_alone(services, intent, UNKNOWN)
    if status == BOOKED:
        state.booking = None
    # Nothing new for a user warned of the lost answer, unless it did book: their tap (Retry,
    # usually) goes ahead as they decided.
    news = intent.told_at is None and (status == BOOKED or not warned)
    if news:
        turn.notices.append(await outcome_text(services, intent, status, turn.language))
    if intent.told_at is None:
        turn.writes.append(_told(intent.idempotency_key, turn.now))
    return news and turn.event.kind == "button"


def _told(key: str, now: datetime) -> Write:
    async def write(connection: AsyncConnection) -> None:
        await intent_store.mark_told(connection, key, now)

    return write


async def settle_abandoned(services: Services, grace: timedelta) -> int:
    """Settle the intents still pending ``grace`` after their Confirm (its process died, or
    the platform never answered) and tell their users through the outbox, as for intents
    settled by a turn that died before its reply. Returns how many users were told."""
    now = services.clock()
    settled = 0
    for intent in await intent_store.untold_before(services, now - grace):
        status: str | None = intent.status
        if status == PENDING:
            status = await look_up(services, intent)
        if status is None:
            if intent.lookups + 1 < MAX_LOOKUPS:
                async with services.engine.begin() as connection:
                    await intent_store.count_lookup(connection, intent.idempotency_key)
                continue
            status = await _settle_alone(services, intent, UNKNOWN)
        settled += 1
        language = str(intent.request.get("lang") or services.config.default_language)
        text = await outcome_text(services, intent, status, language)
        async with services.sessions() as session, session.begin():
            connection = await session.connection()
            if await intent_store.mark_told(connection, intent.idempotency_key, now):
                enqueue_notice(
                    session,
                    business_id=intent.business_id,
                    user_id=intent.user_id,
                    chat_id=intent.chat_id,
                    text=text,
                    now=now,
                )
    async with services.engine.begin() as connection:
        await intent_store.forget_settled(connection, now - KEEP_SETTLED)
    return settled


__all__ = [
    "book_in_database",
    "booked",
    "checkpoint",
    "confirmed",
    "customer_details",
    "in_turn",
    "look_up",
    "moved",
    "refused",
    "service_choice",
    "settle_abandoned",
    "settle_on_return",
]
