"""The typed context every python-telegram-bot handler receives (python-telegram-bot's
``ContextTypes`` extension point), so handlers read ``context.engine`` and
``context.services`` instead of string keys in ``bot_data``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.services import Services


class BotData:
    """What every handler of one Application shares; filled once by
    :func:`bot.app.build_application`. (python-telegram-bot builds it with no arguments.)"""

    engine: Engine
    services: Services


class BookbotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """python-telegram-bot's context, with the engine and the services as properties."""

    @property
    def engine(self) -> Engine:
        return self.bot_data.engine

    @property
    def services(self) -> Services:
        return self.bot_data.services


CONTEXT_TYPES = ContextTypes(context=BookbotContext, bot_data=BotData)

__all__ = ["CONTEXT_TYPES", "BookbotContext", "BotData"]
