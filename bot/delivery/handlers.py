"""Telegram handlers of the delivery engine for what is not a conversation's: who blocked the
bot (a chat member update), and who comes back with ``/start``.

Everything a user does in a conversation runs on the engine: ``/settings``
(:mod:`bot.delivery.settings`), the reminder buttons (:mod:`bot.delivery.reminder_buttons`) and
the broadcast composer (:mod:`bot.admin.composer`).
"""

from __future__ import annotations

from telegram import Update

from bot.context import BookbotContext
from bot.delivery.outbox import mark_blocked, unblock


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
