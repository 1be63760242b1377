"""python-telegram-bot handlers, registered from one ordered table (:func:`handler_table`).

Every update that is a conversation's (commands, text, contacts, button taps: the booking flow,
/settings, the broadcast composer, the reminders' buttons) goes to the one engine through
:func:`on_update`, which turns it into an :class:`~bot.engine.types.Event` for
``Engine.handle``. What is not a conversation's (who blocked the bot, a returning user) has
handlers of its own in :mod:`bot.delivery.handlers`.
"""

from __future__ import annotations

import logging
from enum import IntEnum

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BookbotContext
from bot.delivery import handlers as delivery
from bot.i18n import gettext, pick_language
from bot.telegram_io import deliver, event_from_update

log = logging.getLogger(__name__)

#: The engine's own callback data; features' own formats (``dr:``, ``ds:``) are disjoint from it.
ENGINE_CALLBACK = r"^c\d+\.\d+$"


class Group(IntEnum):
    """python-telegram-bot's handler groups, in the order an update meets them. In each group
    the first handler that matches runs; then the next group is tried, unless it stopped."""

    #: callback queries without data: answered and stopped before anything else
    REFUSE = -100
    #: notes that never answer nor stop the update (a returning user is unblocked)
    BOOKKEEPING = -10
    #: one handler per update: the engine's taps first (half of all updates), then the rest
    MAIN = 0


async def on_update(update: Update, context: BookbotContext) -> None:
    event = event_from_update(update)
    if event is None:
        return
    reply = await context.engine.handle(event)
    await deliver(context.bot, update, event, reply)


async def refuse_empty_callback(update: Update, context: BookbotContext) -> None:
    """A callback query without data matches every pattern handler in python-telegram-bot
    (patterns are only tried on non-empty data), so it is answered and stopped here, first."""
    query = update.callback_query
    if query is not None and not query.data:
        language = pick_language(query.from_user.language_code if query.from_user else None)
        await query.answer(gettext(language, "This menu has expired."))
        raise ApplicationHandlerStop


def _never_matches(_data: object) -> bool:
    return False


async def on_error(update: object, context: BookbotContext) -> None:
    # Only the exception type and the update id: an update's text may hold personal data or a
    # password, and exception texts from adapters are kept free of credentials.
    update_id = getattr(update, "update_id", None)
    log.error(
        "error while handling update %s: %s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
    )


def handler_table() -> list[tuple[Group, BaseHandler[Update, BookbotContext, None]]]:
    """Every handler, in order."""
    return [
        # The pattern is only tried on non-empty data (and refuses it): the handler matches the
        # queries without data alone, so a normal button costs one check here, not a run.
        (Group.REFUSE, CallbackQueryHandler(refuse_empty_callback, pattern=_never_matches)),
        (Group.BOOKKEEPING, CommandHandler("start", delivery.on_start_unblock)),
        # First in its group: a tap on a menu skips checking the commands and patterns below.
        (Group.MAIN, CallbackQueryHandler(on_update, pattern=ENGINE_CALLBACK)),
        (
            Group.MAIN,
            ChatMemberHandler(delivery.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        ),
        # Everything else is the engine's: commands (its features' too), text, contacts, and
        # taps on other data (reminder buttons, stale or forged menus).
        (Group.MAIN, MessageHandler(filters.COMMAND | filters.TEXT | filters.CONTACT, on_update)),
        (Group.MAIN, CallbackQueryHandler(on_update)),
    ]


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add :func:`handler_table`'s handlers, in order, and the error handler."""
    for group, handler in handler_table():
        application.add_handler(handler, group=group)
    application.add_error_handler(on_error)
