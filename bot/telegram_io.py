"""Between python-telegram-bot and the engine: an Update becomes an :class:`Event`, a
:class:`Reply` becomes Bot API calls (menus edited in place when a button was tapped)."""

from __future__ import annotations

import asyncio
import logging
import re
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
    Message,
    MessageEntity,
    MessageOriginUser,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.engine.types import Button, Document, Event, Reply
from bot.engine.unsafe_text import without_unsafe
from bot.i18n import gettext

log = logging.getLogger(__name__)

#: A language tag as the users table keeps it (``String(16)``)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,2}")
_LANGUAGE_TAG_MAX = 16


def event_from_update(update: Update, bot_username: str) -> Event | None:
    """The engine's view of an update, or ``None`` for updates the engine does not handle:
    anything outside a private chat (bookings and personal data stay private; see
    :func:`bot.handlers.on_update`), a tap without its message (an inline message's), and a
    command addressed to another bot (``/book@OtherBot``, ``bot_username`` being ours)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    who = partial(
        Event,
        user_id=user.id,
        chat_id=chat.id,
        telegram_language=_language_tag(user.language_code),
        # The profile's name is stored (the users table): what may not be stored is removed.
        first_name=without_unsafe(user.first_name or ""),
        username=user.username.lower() if user.username else None,
    )
    query = update.callback_query
    if query is not None:
        tapped = query.message
        if tapped is None:
            return None
        data = query.data or ""
        return who(
            kind="button",
            text=data,
            message_id=tapped.message_id,
            data_on_message=isinstance(tapped, Message) and _carries(tapped, data),
        )
    message = update.effective_message
    if message is None:
        return None
    if message.contact is not None:
        return who(
            kind="contact", phone=message.contact.phone_number, message_id=message.message_id
        )
    text = message.text or ""
    if text.startswith("/"):
        head, *rest = text.split(maxsplit=1)
        command, _, addressee = head[1:].partition("@")
        if addressee and addressee.lower() != bot_username.lower():
            return None  # another bot's (in a group, or typed here by mistake)
        argument = rest[0] if rest else ""
        return who(
            kind="command", command=command.lower(), text=argument, message_id=message.message_id
        )
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


def _language_tag(code: str | None) -> str | None:
    """The client's IETF language tag (``fr``, ``pt-br``), or ``None`` for anything else (it is
    stored, in a short column)."""
    if code is None or len(code) > _LANGUAGE_TAG_MAX or not _LANGUAGE_TAG.fullmatch(code):
        return None
    return code


def _carries(message: Message, data: str) -> bool:
    """Whether ``message``'s keyboard, as Telegram repeats it in the callback query, has a
    button with callback ``data``: a client may send any data for any message."""
    markup = message.reply_markup
    return markup is not None and any(
        button.callback_data == data for row in markup.inline_keyboard for button in row
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
    """Send ``reply`` for ``update``: answer the button, delete a password, edit or send.

    The answer to a tap goes out beside the rest, not before it: it changes nothing the edit
    depends on, and waiting for it would add a whole Bot API round trip to every tap's reply."""
    query = update.callback_query
    answering = asyncio.ensure_future(_answer_query(bot, query, reply)) if query else None
    try:
        if query is not None:
            await _swap_tapped_keyboard(bot, query, reply)
        await _send_screens(bot, update, event, reply)
        await set_command_menus(bot, reply.command_menus)
    finally:
        if answering is not None:
            await answering


async def _send_screens(bot: Bot, update: Update, event: Event, reply: Reply) -> None:
    """Delete a password message, then edit the tapped message or send the reply's screens."""
    language = reply.language
    query = update.callback_query
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


async def _answer_query(bot: Bot, query: CallbackQuery, reply: Reply) -> None:
    """Answer the tapped button, with the reply's alert."""
    try:
        await bot.answer_callback_query(
            query.id, text=reply.alert or None, show_alert=reply.alert_dialog or None
        )
    except TelegramError:
        log.debug("callback query could not be answered (too old)")


async def _swap_tapped_keyboard(bot: Bot, query: CallbackQuery, reply: Reply) -> None:
    """Swap the tapped message's keyboard when the reply says so
    (:attr:`Reply.tapped_keyboard`, its buttons' own callback data)."""
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
