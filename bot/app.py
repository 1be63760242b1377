"""Builds the python-telegram-bot Application around the engine, for every channel: Telegram
(polling or webhook), the console, the tests and the benchmarks."""

from __future__ import annotations

import gc
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot import handlers
from bot.admin import (
    AccessControl,
    BroadcastComposer,
    CalendarActions,
    Closures,
    Export,
    Health,
    NoticeButtons,
    PhonedIn,
    ScheduleViews,
    Stats,
)
from bot.admin.menus import menus_with_roles
from bot.bot_api_request import AiohttpRequest
from bot.commands import menu
from bot.config import bot_api_urls
from bot.context import CONTEXT_TYPES, BookbotContext
from bot.delivery.reminder_buttons import ReminderButtons
from bot.delivery.settings import NotificationSettings
from bot.engine import Engine
from bot.i18n import LANGUAGES, gettext
from bot.local_api import LOCAL_TOKEN
from bot.my_data import MyData
from bot.rate_limiter import TELEGRAM_RATE, TelegramRateLimiter
from bot.services import Services
from bot.telegram_io import set_command_menus
from bot.update_processor import ChatOrderedProcessor

if TYPE_CHECKING:
    from bot.engine.features import Feature
    from bot.shared_budget import SharedBudget

log = logging.getLogger(__name__)

SWEEP_INTERVAL = timedelta(minutes=1)
#: connections to the Bot API: replies, and the dispatcher's senders when it runs in-process
CONNECTION_POOL_SIZE = 256


def build_application(
    services: Services,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    base_url: str | None = None,
    rate_limit: bool = True,
    send_rate: float = TELEGRAM_RATE,
    shared_budget: SharedBudget | None = None,
    jobs: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The Application; ``request`` replaces the network (console, tests, benchmarks).

    Its bot's requests go through :class:`~bot.bot_api_request.AiohttpRequest` and, with
    ``rate_limit``, the token's one :class:`~bot.rate_limiter.TelegramRateLimiter` at
    ``send_rate`` messages a second (which an in-process dispatcher shares), and the
    ``shared_budget`` of every process sending for the token when there is one."""
    builder = _builder(token, request, base_url, rate_limit, send_rate, shared_budget, jobs)
    application = builder.build()
    application.bot_data.services = services
    application.bot_data.engine = Engine(services, features=_features())
    handlers.register(application)
    if jobs and application.job_queue is not None:
        application.job_queue.run_repeating(_sweep, interval=SWEEP_INTERVAL, first=5)
    return application


def _builder(
    token: str | None,
    request: BaseRequest | None,
    base_url: str | None,
    rate_limit: bool,
    send_rate: float,
    shared_budget: SharedBudget | None,
    jobs: bool,
) -> ApplicationBuilder:  # type: ignore[type-arg]
    """The builder of :func:`build_application`'s Application: its requests, API server,
    rate limiter and job queue."""
    builder = (
        ApplicationBuilder()
        .token(token or LOCAL_TOKEN)
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        # different chats at once, each chat's updates in order (bot/update_processor.py)
        .concurrent_updates(ChatOrderedProcessor())
    )
    if request is None:
        builder = builder.request(AiohttpRequest(CONNECTION_POOL_SIZE)).get_updates_request(
            AiohttpRequest(1)
        )
    else:
        builder = builder.request(request).get_updates_request(request)
    if base_url:
        # A self-hosted Bot API server: https://host/bot and https://host/file/bot
        api_url, file_url = bot_api_urls(base_url)
        builder = builder.base_url(api_url).base_file_url(file_url)
    if rate_limit:
        limiter = TelegramRateLimiter(send_rate, shared=shared_budget)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    if not jobs:
        builder = builder.job_queue(None)  # type: ignore[arg-type]  # None: no job queue
    return builder


def _features() -> list[Feature]:
    """The features :func:`build_application` hands the engine."""
    return [
        NotificationSettings(),
        ReminderButtons(),
        BroadcastComposer(),
        AccessControl(),
        NoticeButtons(),
        ScheduleViews(),
        CalendarActions(),
        Closures(),
        Export(),
        PhonedIn(),
        Stats(),
        Health(),
        MyData(),
    ]


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    for language in LANGUAGES:
        commands = [BotCommand(c.name, gettext(language, c.description)) for c in menu()]
        await application.bot.set_my_commands(
            commands, language_code=None if language == "en" else language
        )
    # the deep links /enter gives (t.me/<bot>?start=claim-...)
    application.bot_data.services.extra["bot_username"] = application.bot.username
    # everyone with a role gets their own menu in their private chat (bot.admin.menus)
    services: Services = application.bot_data.services
    async with services.sessions() as session:
        await set_command_menus(
            application.bot, await menus_with_roles(session, services.config.default_language)
        )
    freeze_startup_heap()


def freeze_startup_heap() -> None:
    """Take what start-up built out of the cyclic garbage collector's sight.

    Imports, the configuration, the catalogs, SQLAlchemy's metadata and the Application make
    hundreds of thousands of long-lived objects; every full collection walked all of them again
    (about 100 ms each, 4-6% of the time in the updates benchmark, see docs/performance.md).
    ``gc.freeze`` moves them to a permanent generation: they are never freed (they live as long
    as the process anyway), and collections only look at what updates create."""
    gc.collect()
    gc.freeze()


async def _sweep(context: BookbotContext) -> None:
    swept = await context.engine.sweep_expired()
    if swept:
        log.info("released %d abandoned conversations", swept)
