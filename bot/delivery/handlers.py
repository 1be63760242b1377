"""Telegram handlers of the delivery engine: ``/settings`` (reminders and news on or off, per
business) and who blocked the bot.

Callback data (at most 64 bytes, and hostile): ``ds:<r|n>:<business id>``; a tap only changes the
tapping user's own switch. The reminder buttons and the broadcast composer run on the
conversation engine (:mod:`bot.delivery.reminder_buttons`, :mod:`bot.admin.composer`).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.context import BookbotContext
from bot.delivery import texts
from bot.delivery.outbox import mark_blocked, unblock
from bot.delivery.preferences import customer_businesses, get_preference, set_preference
from bot.services import Services
from storage.models import Business, User

log = logging.getLogger(__name__)

#: callback data of the settings' switches
SETTINGS = r"^ds:[rn]:\d{1,18}$"


async def _language(session: AsyncSession, update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "en"
    row = await session.get(User, user.id)
    return texts.language_of(row.language if row else None, user.language_code)


# -- settings ------------------------------------------------------------------------------------
async def _settings_keyboard(
    session: AsyncSession, services: Services, user_id: int, language: str
) -> InlineKeyboardMarkup | None:
    businesses = await customer_businesses(session, user_id)
    if not businesses:
        businesses = list(await session.scalars(select(Business).order_by(Business.name)))
    rows: list[list[InlineKeyboardButton]] = []
    for business in businesses:
        reminders_on, news_on = await get_preference(session, user_id, business.id)
        r_text = texts.SETTINGS_REMINDERS_ON if reminders_on else texts.SETTINGS_REMINDERS_OFF
        n_text = texts.SETTINGS_NEWS_ON if news_on else texts.SETTINGS_NEWS_OFF
        rows.append(
            [
                InlineKeyboardButton(
                    texts._(language, r_text, business=business.name),
                    callback_data=f"ds:r:{business.id}",
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    texts._(language, n_text, business=business.name),
                    callback_data=f"ds:n:{business.id}",
                )
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


async def on_settings(update: Update, context: BookbotContext) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = context.services
    async with services.sessions() as session:
        language = await _language(session, update)
        keyboard = await _settings_keyboard(session, services, user.id, language)
    text = texts.SETTINGS_TITLE if keyboard else texts.SETTINGS_NONE
    await message.reply_text(texts._(language, text), reply_markup=keyboard)


async def on_settings_button(update: Update, context: BookbotContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not query.data:
        return
    _, which, raw_id = query.data.split(":")
    business_id = int(raw_id)
    services = context.services
    async with services.sessions() as session, session.begin():
        language = await _language(session, update)
        if await session.get(Business, business_id) is None:
            await query.answer()
            return
        # The switch belongs to the tapping user: whoever taps only changes their own.
        reminders_on, news_on = await get_preference(session, user.id, business_id)
        if which == "r":
            await set_preference(session, user.id, business_id, reminders=not reminders_on)
        else:
            await set_preference(session, user.id, business_id, news=not news_on)
        await session.flush()
        keyboard = await _settings_keyboard(session, services, user.id, language)
    await query.answer()
    await _edit_markup(query, keyboard)


# -- blocked / unblocked ---------------------------------------------------------------------------
async def on_start_unblock(update: Update, context: BookbotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.services.sessions() as session, session.begin():
        await unblock(session, chat.id)


async def on_my_chat_member(update: Update, context: BookbotContext) -> None:
    change = update.my_chat_member
    if change is None:
        return
    services = context.services
    async with services.sessions() as session, session.begin():
        if change.new_chat_member.status in ("kicked", "left"):
            await mark_blocked(
                session, {change.chat.id: "blocked (chat member update)"}, services.clock()
            )
        else:
            await unblock(session, change.chat.id)


# -- small helpers ---------------------------------------------------------------------------------
async def _edit_markup(query: Any, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except TelegramError as exc:  # "message is not modified" and the like
        log.debug("reply markup not edited: %s", exc)


async def _edit_text(query: Any, text: str) -> None:
    try:
        await query.edit_message_text(text)
    except TelegramError as exc:
        log.debug("message not edited: %s", exc)


async def _reply(query: Any, text: str) -> None:
    if query.message is not None:
        await query.message.reply_text(text)
