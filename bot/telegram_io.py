"""Between python-telegram-bot and the engine: an Update becomes an :class:`Event`, a
:class:`Reply` becomes Bot API calls (menus edited in place when a button was tapped)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    MessageEntity,
    MessageOriginUser,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, TelegramError

from bot.engine.types import Button, Document, Event, Reply
from bot.i18n import gettext

log = logging.getLogger(__name__)


def event_from_update(update: Update) -> Event | None:
    """The engine's view of an update, or ``None`` for updates the engine does not handle."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    who = partial(
        Event,
        user_id=user.id,
        chat_id=chat.id,
        telegram_language=user.language_code,
        first_name=user.first_name or "",
        username=user.username.lower() if user.username else None,
    )
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message else None
        return who(kind="button", text=query.data or "", message_id=message_id)
    message = update.effective_message
    if message is None:
        return None
    if message.contact is not None:
        return who(
            kind="contact", phone=message.contact.phone_number, message_id=message.message_id
        )
    text = message.text or ""
    if text.startswith("/"):
        head, _, argument = text.partition(" ")
        command = head[1:].split("@", 1)[0].lower()
        return who(kind="command", command=command, text=argument, message_id=message.message_id)
    entities = tuple(entity.to_dict() for entity in message.entities)
    origin = message.forward_origin
    forwarded = origin.sender_user.id if isinstance(origin, MessageOriginUser) else None
    return who(
        kind="text",
        text=text,
        message_id=message.message_id,
        entities=entities,
        forward_user_id=forwarded,
    )


def _keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """``rows`` of buttons as an inline keyboard (``None`` when there are none)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.token) for b in row] for row in rows]
    )


def _contact_keyboard(language: str) -> ReplyKeyboardMarkup:
    share = gettext(language, "📱 Share my phone number")
    return ReplyKeyboardMarkup(
        [[KeyboardButton(share, request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


async def deliver(bot: Bot, update: Update, event: Event, reply: Reply) -> None:
    """Send ``reply`` for ``update``: answer the button, delete a password, edit or send."""
    language = reply.language
    query = update.callback_query
    if query is not None:
        await _answer_tap(bot, query, reply)
    await set_command_menus(bot, reply.command_menus)
    if reply.delete_user_message and event.message_id is not None:
        try:
            await bot.delete_message(chat_id=event.chat_id, message_id=event.message_id)
        except TelegramError:
            # Older than 48 h or already gone: nothing more we can do, and nothing to log.
            log.warning("could not delete a message holding a password")
    editable = (
        query.message.message_id if (query is not None and query.message and reply.edit) else None
    )
    for screen in reply.screens:
        if not screen.text:
            continue
        if screen.request_contact:
            await bot.send_message(
                event.chat_id,
                gettext(language, "Tap the button below to share your phone number, or type it."),
                reply_markup=_contact_keyboard(language),
            )
            editable = None  # the menu goes below the keyboard prompt
        markup = _keyboard(screen.buttons)
        if editable is not None:
            try:
                await bot.edit_message_text(
                    screen.text, chat_id=event.chat_id, message_id=editable, reply_markup=markup
                )
                editable = None
                continue
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    editable = None
                    continue
                editable = None  # the message is gone or too old: send a new one instead
        # a broadcast's preview keeps the admin's formatting (Bot API MessageEntity JSON)
        entities = [MessageEntity.de_json(e, bot) for e in screen.entities] or None
        await bot.send_message(
            event.chat_id,
            screen.text,
            entities=entities,
            reply_markup=ReplyKeyboardRemove()
            if markup is None and screen.remove_keyboard
            else markup,
        )
    await send_documents(bot, event.chat_id, reply.documents)


async def send_documents(bot: Bot, chat_id: int, documents: Sequence[Document]) -> None:
    """The reply's files (or pictures), after its messages."""
    for document in documents:
        upload = InputFile(document.content, filename=document.filename)
        if document.photo:
            await bot.send_photo(chat_id, upload, caption=document.caption or None)
        else:
            await bot.send_document(chat_id, upload, caption=document.caption or None)


async def set_command_menus(bot: Bot, menus: dict[int, tuple[str, list[tuple[str, str]]]]) -> None:
    """Each private chat's own command menu (the commands its user's roles allow)."""
    for chat_id, (_language, commands) in menus.items():
        try:
            await bot.set_my_commands(
                [BotCommand(name, description) for name, description in commands],
                scope=BotCommandScopeChat(chat_id),
            )
        except TelegramError as exc:  # a chat the user never opened with the bot
            log.debug("command menu not set: %s", type(exc).__name__)


async def _answer_tap(bot: Bot, query: CallbackQuery, reply: Reply) -> None:
    """Answer the tapped button (with the reply's alert), and swap the tapped message's keyboard
    when the reply says so (:attr:`Reply.tapped_keyboard`, its buttons' own callback data)."""
    try:
        await bot.answer_callback_query(
            query.id, text=reply.alert or None, show_alert=reply.alert_dialog or None
        )
    except TelegramError:
        log.debug("callback query could not be answered (too old)")
    rows = reply.tapped_keyboard
    if rows is None or query.message is None:
        return
    try:
        await bot.edit_message_reply_markup(
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
            reply_markup=_keyboard(rows),
        )
    except TelegramError as exc:  # "message is not modified", or too old to edit
        log.debug("reply markup not edited: %s", exc)
