"""Settling a Confirm's booking intent after its turn: the process died, or the platform
never answered (:mod:`bot.engine.intents` records and settles it in the Confirm's own turn).

A pending intent is settled by looking the appointment up with what was sent (the adapter's
``find_booking``), when the user comes back (:func:`settle_on_return`, which tells them the
outcome in the chat) or by the minute's sweep once the confirming grace is over
(:func:`settle_abandoned`, which tells them through the outbox). A platform that cannot look
bookings up settles it as "unknown", and the user is told that, honestly.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.delivery import booking_changes
from bot.delivery.outbox import enqueue_notice
from bot.engine.intents import booked, confirmed, customer_details, moved, told
from bot.engine.state import BookingState
from bot.engine.summary import when
from bot.i18n import N_, gettext
from providers.base import ProviderError, ProviderUnavailable, Selection, Slot
from storage import bookings as booking_store
from storage import intents as intent_store
from storage.intent_models import BOOKED, FAILED, PENDING, UNKNOWN
from storage.intents import IntentView

if TYPE_CHECKING:
    from bot.engine.turn import Turn
    from bot.services import Services

log = logging.getLogger(__name__)

#: How often the sweep asks a platform that does not answer before settling as "unknown".
MAX_LOOKUPS = 10
#: Settled intents are kept this long (they only serve to tell the user the outcome).
KEEP_SETTLED = timedelta(days=2)

#: The platform did not answer the lookup either.
CHECKING = N_(
    "We are still checking with the booking system whether your last confirmation went "
    "through. I will tell you as soon as I know."
)
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


async def look_up(services: Services, intent: IntentView) -> str | None:
    """Settle the pending ``intent`` by asking its platform what it booked: the new status,
    or ``None`` when the platform did not answer (still pending: ask again later)."""
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
    except ProviderUnavailable:
        log.warning("the platform did not answer a booking lookup; asking again later")
        return None
    except ProviderError as failure:
        # It cannot be asked (no signed-in session after a restart, a refusal): asking again
        # would not help.
        log.warning("could not look a booking up: %s", type(failure).__name__)
        return await _settle_alone(services, intent, UNKNOWN)
    if found is None:
        return await _settle_alone(services, intent, FAILED)
    now = services.clock()
    if intent.kind == "reschedule" and booking.rescheduling is not None:
        write = moved(
            intent.idempotency_key, booking.rescheduling, found, now, told=False, certain=False
        )
    else:
        record = confirmed(
            request,
            key=intent.idempotency_key,
            user_id=intent.user_id,
            chat_id=intent.chat_id,
            business_id=intent.business_id,
            result=found,
            now=now,
        )
        write = booked(record, now, told=False, certain=False)
    async with services.engine.begin() as connection:
        change = await write(connection)
        if change is not None:
            business = services.business(services.business_slugs[intent.business_id])
            await booking_changes.follow(connection, change, business)
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
    status: str | None = intent.status
    if status == PENDING:
        status = await look_up(services, intent)
    if status is None:
        # Nobody can say yet: no new Confirm until we know (the sweep keeps asking, and tells).
        state.intent = key
        turn.notice(CHECKING)
        return turn.event.kind == "button"
    if status == BOOKED:
        state.booking = None
    # Nothing new for a user warned of the lost answer, unless it did book: their tap (Retry,
    # usually) goes ahead as they decided.
    news = intent.told_at is None and (status == BOOKED or not warned)
    if news:
        turn.notices.append(await outcome_text(services, intent, status, turn.language))
    if intent.told_at is None:
        turn.writes.append(told(intent.idempotency_key, turn.now))
    return news and turn.event.kind == "button"


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


__all__ = ["OUTCOME_TEXT", "look_up", "outcome_text", "settle_abandoned", "settle_on_return"]
