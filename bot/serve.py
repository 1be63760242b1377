"""``bookbot run``: one process serving Telegram, by polling or by webhook, with its HTTP server
(``/healthz``, ``/readyz``, the webhook) and, unless turned off, the delivery dispatcher.

Start-up binds the port before anything is asked of Telegram (``setWebhook`` is only sent once
updates can be received), and any failure of it ends in :class:`StartupError` or the original
exception, which ``bookbot run`` prints in one line (:func:`one_line`). A stop (SIGTERM, SIGINT)
is graceful: no new updates are taken, the accepted ones are handled, then the process ends.

Polling is for one process per bot token: on PostgreSQL an advisory lock refuses a second
poller at start-up (it would take updates from the first), or a poller beside webhook workers;
Telegram's own refusal (409 Conflict: another ``getUpdates`` is running) stops the poller with
the same clear message wherever the database is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram.error import Conflict, TelegramError
from telegram.ext import Application

from bot import shared_budget
from bot.config import AppConfig, TelegramSettings
from bot.http_server import HttpServer, Readiness
from bot.services import Services
from bot.webhook import WebhookReceiver, secret_problem
from storage import locks

log = logging.getLogger(__name__)

SECOND_POLLER = (
    "another process is already polling Telegram for this bot: run one poller, or a webhook "
    "(BOOKBOT_WEBHOOK_URL) for several workers"
)

POLLER_RUNNING = (
    "a process is polling Telegram for this bot on this database: stop it before starting "
    "webhook workers (both would receive the updates)"
)


class StartupError(Exception):
    """Start-up cannot go on; the message says why, in one line, for the operator."""


@dataclass(frozen=True)
class Worker:
    """This process's place among the workers of ``bookbot run --workers N``."""

    index: int = 0
    count: int = 1

    @classmethod
    def from_env(cls) -> Worker:
        return cls(
            int(os.environ.get("BOOKBOT_WORKER_INDEX", "0")),
            int(os.environ.get("BOOKBOT_WORKER_COUNT", "1")),
        )


def one_line(error: BaseException, token: str | None) -> str:
    """What went wrong, in one line, never with the bot token in it."""
    if isinstance(error, StartupError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if token:
        text = text.replace(token, "<token>")
    return " ".join(text.split())


def check_settings(telegram: TelegramSettings) -> None:
    """Refuse settings that cannot work, before anything starts."""
    if telegram.webhook_url:
        problem = secret_problem(telegram.webhook_secret)
        if problem:
            raise StartupError(problem)
        if urlsplit(telegram.webhook_url).scheme != "https":
            raise StartupError("BOOKBOT_WEBHOOK_URL must be an https:// URL (Telegram's rule)")


async def serve(
    config: AppConfig,
    telegram: TelegramSettings,
    *,
    send_rate: float,
    worker: Worker = Worker(),
    stop: asyncio.Event | None = None,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT); raise what made start-up fail."""
    from bot.app import build_application
    from bot.services import build_services

    check_settings(telegram)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services = await build_services(config)
    try:
        application = build_application(
            services,
            token=telegram.token,
            base_url=telegram.api_base_url,
            send_rate=send_rate,
            shared_budget=shared_budget.from_env(telegram.token, send_rate),
        )
        try:
            async with application:
                await _run(application, services, telegram, worker, stop)
        finally:
            # (a no-op once shut down) a token refused at initialize leaves the bot open
            await application.bot.shutdown()
    finally:
        await services.aclose()


async def _run(
    application: Application,  # type: ignore[type-arg]
    services: Services,
    telegram: TelegramSettings,
    worker: Worker,
    stop: asyncio.Event,
) -> None:
    """The initialised Application, served until ``stop``; each started part is stopped."""
    from bot.app import _post_init

    receiver = None
    if telegram.webhook_url:
        assert telegram.webhook_secret is not None  # check_settings
        receiver = WebhookReceiver(application, services.engine, telegram.webhook_secret)
    token_lock = await _take_token_lock(services, application.bot.id, polling=receiver is None)
    server = HttpServer(
        Readiness(services.engine, application.bot),
        host=telegram.webhook_listen,
        port=telegram.webhook_port,
        webhook=receiver,
        webhook_path=urlsplit(telegram.webhook_url or "").path or "/",
        reuse_port=worker.count > 1,
    )
    try:
        await server.start()
        try:
            await _post_init(application)
            await application.start()
            await _receive_until_stopped(application, services, telegram, receiver, worker, stop)
        finally:
            # in this order: no new updates, then what was accepted is handled
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await server.stop()
            if receiver is not None:
                await receiver.drain()
            if application.running:
                await application.stop()
    finally:
        if token_lock is not None:
            await token_lock.close()


async def _receive_until_stopped(
    application: Application,  # type: ignore[type-arg]
    services: Services,
    telegram: TelegramSettings,
    receiver: WebhookReceiver | None,
    worker: Worker,
    stop: asyncio.Event,
) -> None:
    background: list[asyncio.Task[None]] = []
    conflict: list[TelegramError] = []
    if receiver is not None:
        assert telegram.webhook_url is not None
        background.append(asyncio.create_task(receiver.keep_leases(stop), name="leases"))
        if worker.index == 0:  # one worker tells Telegram; the port is already bound
            await application.bot.set_webhook(
                telegram.webhook_url, secret_token=telegram.webhook_secret
            )
    else:
        assert application.updater is not None

        def on_polling_error(error: TelegramError) -> None:
            if isinstance(error, Conflict):
                conflict.append(error)
                stop.set()

        await application.updater.start_polling(error_callback=on_polling_error)
    dispatching = _start_dispatcher(services, application, stop)
    if dispatching is not None:
        background.append(dispatching)
    log.info("bookbot is running (%s)", "webhook" if receiver else "polling")
    await stop.wait()
    if receiver is not None:
        receiver.refuse_new()
    await asyncio.gather(*background)
    if conflict:
        raise StartupError(SECOND_POLLER)


async def _take_token_lock(
    services: Services, bot_id: int, *, polling: bool
) -> AsyncConnection | None:
    """On PostgreSQL, the bot's polling lock: a poller holds it alone, webhook workers share
    it; so a poller refuses to start beside webhook workers (its start would delete their
    webhook) or another poller, and webhook workers beside a poller."""
    if not locks.supports_locks(services.engine):
        return None
    held = await locks.try_hold(services.engine, locks.polling_lock_id(bot_id), shared=not polling)
    if held is None:
        raise StartupError(SECOND_POLLER if polling else POLLER_RUNNING)
    return held


def _start_dispatcher(
    services: Services,
    application: Application,  # type: ignore[type-arg]
    stop: asyncio.Event,
) -> asyncio.Task[None] | None:
    """Reminders and broadcasts are sent from this process too, unless
    ``BOOKBOT_DISPATCHER=off`` (run ``bookbot dispatch`` processes instead). The dispatcher
    sends through the Application's own bot, so replies and deliveries share the token's one
    rate limiter (and its connection pool)."""
    if os.environ.get("BOOKBOT_DISPATCHER", "on").lower() in ("off", "0", "false", "no"):
        return None
    from bot.delivery.dispatcher import Dispatcher

    dispatcher = Dispatcher(services.sessions, application.bot)
    return asyncio.create_task(dispatcher.run(stop), name="dispatcher")
