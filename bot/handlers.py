"""python-telegram-bot handlers: every update goes to the one engine."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.engine import Engine
from bot.engine.state import ConversationState
from bot.engine.turn import Turn
from bot.i18n import gettext, pick_language
from bot.services import Services
from bot.telegram_io import deliver, event_from_update

log = logging.getLogger(__name__)

#: The engine's own callback data; other features (reminders, broadcasts) use other prefixes.
ENGINE_CALLBACK = r"^c\d+\.\d+$"
#: Runs before every feature's handlers.
FIRST_GROUP = -100


def engine_of(context: ContextTypes.DEFAULT_TYPE) -> Engine:
    engine: Engine = context.application.bot_data["engine"]
    return engine


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    event = event_from_update(update)
    if event is None:
        return
    engine = engine_of(context)
    reply = await engine.handle(event)
    await deliver(context.bot, update, event, reply)


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data nobody recognises (forged, or from a feature that no longer exists)."""
    query = update.callback_query
    if query is not None:
        await on_update(update, context)


async def refuse_empty_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A callback query without data matches every pattern handler in python-telegram-bot
    (patterns are only tried on non-empty data), so it is answered and stopped here, first."""
    query = update.callback_query
    if query is not None and not query.data:
        language = pick_language(query.from_user.language_code if query.from_user else None)
        await query.answer(gettext(language, "This menu has expired."))
        raise ApplicationHandlerStop


def _never_matches(_data: object) -> bool:
    return False


async def begin_reschedule(
    update: Update, context: ContextTypes.DEFAULT_TYPE, booking_id: int
) -> None:
    """Start moving ``booking_id`` for the tapping user (used by the reminder buttons).

    Ownership is checked inside (:meth:`Engine.begin_reschedule`)."""
    event = event_from_update(update)
    if event is None:
        return
    engine = engine_of(context)
    services: Services = context.application.bot_data["services"]
    now = services.clock()
    record = await engine.load(event.chat_id, event.user_id)
    state = ConversationState.from_stored(record.data)
    language = pick_language(state.language, event.telegram_language)
    turn = Turn(
        services=services, event=event, record=record, state=state, now=now, language=language
    )
    turn.checkpoint = lambda: engine._checkpoint(turn)
    await engine.begin_reschedule(turn, booking_id)
    reply = await engine._save(turn)
    reply.edit = False
    await deliver(context.bot, update, event, reply)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Only the exception type and the update id: an update's text may hold personal data or a
    # password, and exception texts from adapters are kept free of credentials.
    update_id = getattr(update, "update_id", None)
    log.error(
        "error while handling update %s: %s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
    )


def register_buttons(application: Application) -> None:  # type: ignore[type-arg]
    """Add the handlers of the engine's own buttons: call before any feature registers its
    handlers. The engine's callback data (:data:`ENGINE_CALLBACK`) is disjoint from every
    feature's prefix, so its handler can come first and a tap on a menu, half of all updates,
    skips checking the features' commands and patterns."""
    # The pattern is only tried on non-empty data (and refuses it): the handler matches the
    # queries without data alone, so a normal button costs one check here, not a handler run.
    application.add_handler(
        CallbackQueryHandler(refuse_empty_callback, pattern=_never_matches), group=FIRST_GROUP
    )
    application.add_handler(CallbackQueryHandler(on_update, pattern=ENGINE_CALLBACK))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add the engine's catch-alls. Features with their own commands or buttons register theirs
    before this, in the same group, so that the catch-alls here only see what is left."""
    application.add_handler(
        MessageHandler(filters.COMMAND | filters.TEXT | filters.CONTACT, on_update)
    )
    application.add_handler(CallbackQueryHandler(on_unknown_button))
    application.add_error_handler(on_error)
