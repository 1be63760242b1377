"""Telegram handlers of the delivery engine: ``/broadcast``, ``/broadcast_cancel``,
``/settings`` and the reminder buttons.

Callback data (at most 64 bytes, and hostile): ``dr:<y|r|c|C|k>:<booking id>`` (reminder),
``ds:<r|n>:<business id>`` (settings), ``db:<b|a|d|s|x>:<id>`` (broadcast). Every tap is
checked on the server: a reminder button acts only on the tapping user's own booking, a
broadcast button only for its author while they are still an admin of its business.

A broadcast being composed is a ``broadcasts`` row in status ``draft`` (``step`` says what is
asked next), so composing survives a restart and works with several workers.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.delivery import broadcasts, texts
from bot.delivery.outbox import mark_blocked, unblock
from bot.delivery.preferences import customer_businesses, get_preference, set_preference
from bot.delivery.reminders import cancel_for_booking
from bot.delivery.render import reminder_keyboard
from bot.services import Services
from providers.base import NotFound, ProviderError, Selection
from storage.delivery_models import Broadcast, Delivery
from storage.models import Admin, Booking, Business, User

log = logging.getLogger(__name__)

#: handlers that must see messages before the conversation engine
EARLY_GROUP = -1
#: How long this process trusts its copy of the ``admins`` user ids (see :func:`_may_have_draft`).
ADMIN_IDS_TTL = 10.0


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add the delivery handlers (call before the engine's catch-all handlers)."""
    application.add_handler(CommandHandler("broadcast", on_broadcast))
    application.add_handler(CommandHandler("broadcast_cancel", on_broadcast_cancel))
    application.add_handler(CommandHandler("settings", on_settings))
    application.add_handler(
        CallbackQueryHandler(on_reminder_button, pattern=r"^dr:[yrcCk]:\d{1,18}$")
    )
    application.add_handler(CallbackQueryHandler(on_settings_button, pattern=r"^ds:[rn]:\d{1,18}$"))
    application.add_handler(
        CallbackQueryHandler(on_broadcast_button, pattern=r"^db:[badsx]:\d{1,18}$")
    )
    # A draft's text or date range: private text messages, looked at before the engine sees
    # them, and only stopping the engine when a draft was waiting for this very message.
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_admin_text),
        group=EARLY_GROUP,
    )
    # Someone who blocked the bot and comes back with /start gets messages again.
    application.add_handler(CommandHandler("start", on_start_unblock), group=EARLY_GROUP - 1)
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.application.bot_data["services"]
    return services


async def _language(session: AsyncSession, update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "en"
    row = await session.get(User, user.id)
    return texts.language_of(row.language if row else None, user.language_code)


# -- reminders -----------------------------------------------------------------------------------
async def on_reminder_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or not query.data:
        return
    _, action, raw_id = query.data.split(":")
    booking_id = int(raw_id)
    services = _services(context)
    now = services.clock()
    async with services.sessions() as session:
        language = await _language(session, update)
        booking = await session.get(Booking, booking_id)
        if booking is None or booking.user_id != user.id:
            await query.answer(texts._(language, texts.NOT_YOURS), show_alert=True)
            return
        if booking.status != "confirmed" or booking.start_at <= now:
            await query.answer(texts._(language, texts.NOT_ACTIVE), show_alert=True)
            return
    if action == "y":
        async with services.sessions() as session, session.begin():
            message_id = query.message.message_id if query.message else None
            rows = await session.scalars(
                select(Delivery).where(
                    Delivery.booking_id == booking_id,
                    Delivery.kind == "reminder",
                    Delivery.telegram_message_id == message_id,
                )
            )
            for row in rows:
                row.answer = "confirmed"
        await query.answer(texts._(language, texts.ATTEND_DONE))
        await _edit_markup(query, reminder_keyboard(language, booking_id, attended=True))
    elif action == "r":
        await query.answer()
        try:
            from bot.handlers import begin_reschedule
        except ImportError:
            await query.answer(texts._(language, texts.RESCHEDULE_UNAVAILABLE), show_alert=True)
            return
        await begin_reschedule(update, context, booking_id)
    elif action == "c":
        await query.answer()
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts._(language, texts.BUTTON_CANCEL_YES),
                        callback_data=f"dr:C:{booking_id}",
                    )
                ],
                [
                    InlineKeyboardButton(
                        texts._(language, texts.BUTTON_CANCEL_NO),
                        callback_data=f"dr:k:{booking_id}",
                    )
                ],
            ]
        )
        await _edit_markup(query, keyboard)
    elif action == "k":
        await query.answer()
        await _edit_markup(query, reminder_keyboard(language, booking_id))
    elif action == "C":
        done = await cancel_booking(services, booking_id, user.id, language)
        await query.answer()
        if done and query.message is not None:
            await _reply(query, texts._(language, texts.CANCEL_DONE))
            await _edit_markup(query, None)
        elif not done:
            await _reply(query, texts._(language, texts.CANCEL_FAILED))


async def cancel_booking(services: Services, booking_id: int, user_id: int, language: str) -> bool:
    """Cancel the user's booking on the platform, then locally with its reminders."""
    async with services.sessions() as session:
        booking = await session.get(Booking, booking_id)
        if booking is None or booking.user_id != user_id or booking.status != "confirmed":
            return False
        business = await session.get(Business, booking.business_id)
        assert business is not None
        ref, slug = booking.provider_ref, business.slug
        choices = {k: tuple(v) for k, v in (booking.selection or {}).items() if isinstance(v, list)}
    provider = services.providers.get(slug)
    if provider is None:
        return False
    selection = Selection(choices=choices, language=language, user_key=f"tg:{user_id}")
    try:
        await provider.cancel(ref, selection)
    except NotFound:
        pass  # already cancelled on the platform: mirror it
    except ProviderError:
        log.warning("cancelling booking %s failed at the platform", booking_id)
        return False
    async with services.sessions() as session, session.begin():
        booking = await session.get(Booking, booking_id)
        if booking is None:
            return False
        booking.status = "cancelled"
        booking.cancelled_at = services.clock()
        await cancel_for_booking(session, booking_id)
    return True


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


async def on_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = _services(context)
    async with services.sessions() as session:
        language = await _language(session, update)
        keyboard = await _settings_keyboard(session, services, user.id, language)
    text = texts.SETTINGS_TITLE if keyboard else texts.SETTINGS_NONE
    await message.reply_text(texts._(language, text), reply_markup=keyboard)


async def on_settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or not query.data:
        return
    _, which, raw_id = query.data.split(":")
    business_id = int(raw_id)
    services = _services(context)
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


# -- broadcasts ----------------------------------------------------------------------------------
async def _administered(session: AsyncSession, user_id: int) -> list[Business]:
    scope = await broadcasts.admin_scope(session, user_id)
    query = select(Business).order_by(Business.name)
    if scope is not None:
        if not scope:
            return []
        query = query.where(Business.id.in_(scope))
    return list(await session.scalars(query))


async def _may_have_draft(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> bool:
    """Whether ``user_id`` can have a broadcast draft at all, without touching the database
    for ordinary customers: only admins compose broadcasts.

    Every private text passes through :func:`on_admin_text`, so this keeps a copy of the admins'
    user ids, re-read every :data:`ADMIN_IDS_TTL` seconds. It only decides whether to look; the
    draft and the admin's rights are still read from the database. An admin added by another
    process is seen here at the latest ``ADMIN_IDS_TTL`` later, and at once once they send
    ``/broadcast`` to this process (:func:`_note_admin`)."""
    bot_data = context.application.bot_data
    cached: tuple[float, set[int]] | None = bot_data.get("admin_user_ids")
    now = time.monotonic()
    if cached is None or cached[0] <= now:
        async with _services(context).sessions() as session:
            ids = set(await session.scalars(select(Admin.user_id)))
        cached = (now + ADMIN_IDS_TTL, ids)
        bot_data["admin_user_ids"] = cached
    return user_id in cached[1]


def _note_admin(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> None:
    cached: tuple[float, set[int]] | None = context.application.bot_data.get("admin_user_ids")
    if cached is not None:
        cached[1].add(user_id)


async def on_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user, message, chat = update.effective_user, update.effective_message, update.effective_chat
    if user is None or message is None or chat is None:
        return
    services = _services(context)
    async with services.sessions() as session, session.begin():
        language = await _language(session, update)
        businesses = await _administered(session, user.id)
        if not businesses:
            await message.reply_text(texts._(language, texts.NOT_ADMIN))
            return
        _note_admin(context, user.id)
        await _discard_drafts(session, user.id)
        if len(businesses) > 1:
            keyboard = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.name, callback_data=f"db:b:{b.id}")] for b in businesses]
            )
            await message.reply_text(
                texts._(language, texts.BROADCAST_PICK_BUSINESS), reply_markup=keyboard
            )
            return
        business = businesses[0]
        session.add(
            Broadcast(
                business_id=business.id,
                created_by=user.id,
                admin_chat_id=chat.id,
                status="draft",
                step="text",
                entities=[],
                audience={},
            )
        )
    await message.reply_text(texts._(language, texts.BROADCAST_ASK_TEXT, business=business.name))


async def _discard_drafts(session: AsyncSession, user_id: int) -> None:
    for draft in await session.scalars(
        select(Broadcast).where(Broadcast.created_by == user_id, Broadcast.status == "draft")
    ):
        draft.status = "cancelled"


async def _own_draft(session: AsyncSession, broadcast_id: int, user_id: int) -> Broadcast | None:
    """The draft, only for its author while they may still administer its business."""
    draft = await session.get(Broadcast, broadcast_id)
    if draft is None or draft.created_by != user_id or draft.status != "draft":
        return None
    if not await broadcasts.may_administer(session, user_id, draft.business_id):
        return None
    return draft


async def on_admin_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A draft's text or date range. Does nothing (and lets the engine have the message)
    unless this user has a draft waiting for input in this chat."""
    user, message, chat = update.effective_user, update.effective_message, update.effective_chat
    if user is None or message is None or chat is None or message.text is None:
        return
    if not await _may_have_draft(context, user.id):
        return
    services = _services(context)
    async with services.sessions() as session, session.begin():
        draft = await session.scalar(
            select(Broadcast)
            .where(
                Broadcast.created_by == user.id,
                Broadcast.admin_chat_id == chat.id,
                Broadcast.status == "draft",
                Broadcast.step.in_(("text", "range")),
            )
            .order_by(Broadcast.id.desc())
            .limit(1)
        )
        if draft is None:
            return
        language = await _language(session, update)
        if not await broadcasts.may_administer(session, user.id, draft.business_id):
            draft.status = "cancelled"
            await message.reply_text(texts._(language, texts.NOT_ADMIN))
            raise ApplicationHandlerStop
        if draft.step == "text":
            draft.text = message.text
            draft.entities = [e.to_dict() for e in message.entities]
            draft.step = "audience"
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            texts._(language, texts.BUTTON_AUDIENCE_ALL),
                            callback_data=f"db:a:{draft.id}",
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            texts._(language, texts.BUTTON_AUDIENCE_RANGE),
                            callback_data=f"db:d:{draft.id}",
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            texts._(language, texts.BUTTON_DISCARD),
                            callback_data=f"db:x:{draft.id}",
                        )
                    ],
                ]
            )
            await message.reply_text(
                texts._(language, texts.BROADCAST_ASK_AUDIENCE), reply_markup=keyboard
            )
        else:
            parsed = broadcasts.parse_range(message.text)
            if parsed is None:
                await message.reply_text(texts._(language, texts.BROADCAST_BAD_RANGE))
                raise ApplicationHandlerStop
            draft.audience = {
                "kind": "range",
                "from": parsed[0].isoformat(),
                "to": parsed[1].isoformat(),
            }
            await _preview(session, draft, update, language)
    raise ApplicationHandlerStop


async def _preview(session: AsyncSession, draft: Broadcast, update: Update, language: str) -> None:
    """Show the message exactly as customers will get it, then Send / Discard."""
    message = update.effective_message
    assert message is not None
    business = await session.get(Business, draft.business_id)
    assert business is not None
    count = await broadcasts.count_audience(session, business, draft.audience)
    draft.step = "confirm"
    entities = [
        e for e in (MessageEntity.de_json(d, None) for d in draft.entities) if e is not None
    ]
    await message.get_bot().send_message(draft.admin_chat_id, draft.text, entities=entities or None)
    if count == 0:
        draft.status = "cancelled"
        await message.get_bot().send_message(
            draft.admin_chat_id, texts._(language, texts.BROADCAST_EMPTY)
        )
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts._(language, texts.BUTTON_SEND), callback_data=f"db:s:{draft.id}"
                )
            ],
            [
                InlineKeyboardButton(
                    texts._(language, texts.BUTTON_DISCARD), callback_data=f"db:x:{draft.id}"
                )
            ],
        ]
    )
    await message.get_bot().send_message(
        draft.admin_chat_id,
        texts._(language, texts.BROADCAST_PREVIEW, count=f"{count:,}", business=business.name),
        reply_markup=keyboard,
    )


async def on_broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None or not query.data:
        return
    _, action, raw_id = query.data.split(":")
    target = int(raw_id)
    services = _services(context)
    now = services.clock()
    async with services.sessions() as session, session.begin():
        language = await _language(session, update)
        if action == "b":
            if not await broadcasts.may_administer(session, user.id, target):
                await query.answer(texts._(language, texts.NOT_ADMIN), show_alert=True)
                return
            business = await session.get(Business, target)
            if business is None:
                await query.answer()
                return
            await _discard_drafts(session, user.id)
            session.add(
                Broadcast(
                    business_id=target,
                    created_by=user.id,
                    admin_chat_id=chat.id,
                    status="draft",
                    step="text",
                    entities=[],
                    audience={},
                )
            )
            await query.answer()
            await _edit_text(
                query, texts._(language, texts.BROADCAST_ASK_TEXT, business=business.name)
            )
            return
        draft = await _own_draft(session, target, user.id)
        if draft is None:
            await query.answer(texts._(language, texts.BROADCAST_STALE), show_alert=True)
            return
        await query.answer()
        if action == "x":
            draft.status = "cancelled"
            await _edit_text(query, texts._(language, texts.BROADCAST_DISCARDED))
        elif action == "a" and draft.step == "audience":
            draft.audience = {"kind": "all"}
            await _preview(session, draft, update, language)
        elif action == "d" and draft.step == "audience":
            draft.step = "range"
            await _edit_text(query, texts._(language, texts.BROADCAST_ASK_RANGE))
        elif action == "s" and draft.step == "confirm":
            total = await broadcasts.start_broadcast(session, draft, now)
            if total < 0:
                return
            c = broadcasts.Counts(total=total, sent=0, failed=0, blocked=0, skipped=0, open=total)
            draft.progress_text = broadcasts.progress_text(language, c)
            if query.message is not None:
                draft.progress_message_id = query.message.message_id
            await _edit_text(query, draft.progress_text)


async def on_broadcast_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    services = _services(context)
    now = services.clock()
    replies: list[str] = []
    async with services.sessions() as session, session.begin():
        language = await _language(session, update)
        running = await session.scalars(
            select(Broadcast).where(
                Broadcast.created_by == user.id, Broadcast.status.in_(("draft", "sending"))
            )
        )
        for b in list(running):
            if not await broadcasts.may_administer(session, user.id, b.business_id):
                continue
            if b.status == "draft":
                b.status = "cancelled"
                replies.append(texts._(language, texts.BROADCAST_DISCARDED))
            else:
                c = await broadcasts.cancel_broadcast(session, b, now)
                replies.append(
                    texts._(
                        language,
                        texts.BROADCAST_CANCELLED,
                        sent=f"{c.sent:,}",
                        total=f"{c.total:,}",
                    )
                )
    await message.reply_text(
        "\n".join(replies) or texts._(language, texts.BROADCAST_NOTHING_TO_CANCEL)
    )


# -- blocked / unblocked ---------------------------------------------------------------------------
async def on_start_unblock(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with _services(context).sessions() as session, session.begin():
        await unblock(session, chat.id)


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change is None:
        return
    services = _services(context)
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
