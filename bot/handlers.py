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

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
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
from bot.i18n import N_, gettext, pick_language
from bot.telegram_io import deliver, event_from_update

log = logging.getLogger(__name__)

#: Said in a group chat: nothing personal is shown there
PRIVATE_CHAT_ONLY = N_(
    "I book appointments in a private chat only, so that your bookings and details stay "
    "yours. Write to me there."
)
OPEN_PRIVATE_CHAT = N_("Open a private chat")

#: The engine's own callback data; features' own formats (``dr:``, ``ds:``) are disjoint from it.
#: (``\Z``, not ``$``, which also matches before a trailing newline; ``[0-9]``, not ``\d``,
#: which matches any script's digits)
ENGINE_CALLBACK = r"c[0-9]+\.[0-9]+\Z"


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
    event = event_from_update(update, context.bot.username)
    if event is None:
        await _not_the_engines(update, context)
        return
    reply = await context.engine.handle(event)
    await deliver(context.bot, update, event, reply)


async def _not_the_engines(update: Update, context: BookbotContext) -> None:
    """An update :func:`~bot.telegram_io.event_from_update` leaves out: a tap is answered all
    the same (an unanswered one keeps its spinner), and in a group, where bookings and personal
    data must not be shown, a command for us points to the private chat. Other bots' commands
    and the group's talk get nothing."""
    query = update.callback_query
    chat = update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    user = update.effective_user
    language = pick_language(user.language_code if user else None)
    if query is not None:
        text = PRIVATE_CHAT_ONLY if in_group else "This menu has expired."
        await query.answer(gettext(language, text), show_alert=in_group or None)
        return
    message = update.effective_message
    if not in_group or message is None or not _for_us(message.text or "", context.bot.username):
        return
    await message.reply_text(
        gettext(language, PRIVATE_CHAT_ONLY),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(gettext(language, OPEN_PRIVATE_CHAT), url=context.bot.link)]]
        ),
    )


def _for_us(text: str, bot_username: str) -> bool:
    """Whether ``text`` is a command for this bot (``/book``, ``/book@ourbot``)."""
    head = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    _, at, addressee = head.partition("@")
    return bool(head) and (not at or addressee.lower() == bot_username.lower())


async def refuse_empty_callback(update: Update, context: BookbotContext) -> None:
    """A callback query without data matches every pattern handler in python-telegram-bot
    (patterns are only tried on non-empty data), so it is answered and stopped here, first."""
    query = update.callback_query
    if query is not None and not query.data:
        language = pick_language(query.from_user.language_code if query.from_user else None)
        await query.answer(gettext(language, "This menu has expired."))
        raise ApplicationHandlerStop


#: A new message (not an edit, a channel post or a business account's message) in a private chat
PRIVATE_MESSAGE = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE


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
        (
            Group.BOOKKEEPING,
            CommandHandler("start", delivery.on_start_unblock, filters=PRIVATE_MESSAGE),
        ),
        # First in its group: a tap on a menu skips checking the commands and patterns below.
        (Group.MAIN, CallbackQueryHandler(on_update, pattern=ENGINE_CALLBACK)),
        (
            Group.MAIN,
            ChatMemberHandler(delivery.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        ),
        # Everything else is the engine's: commands (its features' too), text, contacts, and
        # taps on other data (reminder buttons, stale or forged menus). New messages only: an
        # edit of an old "/cancel" or "Anna" is not new input (and channel posts are no one's).
        (
            Group.MAIN,
            MessageHandler(
                filters.UpdateType.MESSAGE & (filters.COMMAND | filters.TEXT | filters.CONTACT),
                on_update,
            ),
        ),
        (Group.MAIN, CallbackQueryHandler(on_update)),
    ]


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add :func:`handler_table`'s handlers, in order, and the error handler."""
    for group, handler in handler_table():
        application.add_handler(handler, group=group)
    application.add_error_handler(on_error)
