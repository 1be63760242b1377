"""The ``bookbot`` command: ``run`` (Telegram), ``chat`` (console), ``migrate``,
``check-config``, ``check-provider <business>``. With no subcommand it runs on Telegram when
``TELEGRAM_BOT_TOKEN`` is set and in the console otherwise."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

from bot.config import (
    REFUSED_AT_START_UP,
    AppConfig,
    ConfigError,
    TelegramSettings,
    config_path,
    load_config,
)

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.services import Services


def _configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO; some platforms put their API key in the query
    # string, so those lines must never be written.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_or_exit() -> AppConfig:
    try:
        return load_config()
    except ConfigError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None


def cmd_check_config(_: argparse.Namespace) -> int:
    config: AppConfig | None = None
    try:
        config = load_config()
    except ConfigError as error:
        print(error, file=sys.stderr)
    try:
        TelegramSettings.from_env()  # the Bot API address, when one is set
    except ConfigError as error:
        print(error, file=sys.stderr)
        config = None
    if config is None:
        return 2
    print(f"{config_path()}: OK ({len(config.businesses)} business(es))")
    print(f"  database: {_shown_database(config.database_url)}")
    for business in config.businesses:
        print(f"  - {business.slug}: {business.name} [{business.provider}, {business.timezone}]")
    return 0


def cmd_check_provider(args: argparse.Namespace) -> int:
    from bot.check_provider import check_provider

    config = _load_or_exit()
    return 0 if asyncio.run(check_provider(config, args.business)) else 1


def _shown_database(url: str) -> str:
    """The database, without its password; for SQLite, the file (relative paths are taken
    from the working directory: see ``AppConfig.database_url``)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database or '(in memory)'}"
    return parsed.render_as_string(hide_password=True)


def cmd_migrate(_: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    config = _load_or_exit()
    upgrade(config.database_url)
    print("database schema is up to date")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.console import run_console
    from bot.services import build_services

    config = _load_or_exit()

    async def main() -> None:
        services = await build_services(config)
        try:
            await run_console(services, language=args.language, user_id=args.user)
        finally:
            await services.aclose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # Ctrl-C: asyncio.run has closed the console and the database
        print("\nbye")
        return 130
    return 0


def cmd_run(_: argparse.Namespace) -> int:
    try:
        telegram = TelegramSettings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if not telegram.token:
        print("TELEGRAM_BOT_TOKEN is not set (use `bookbot chat` for the console)", file=sys.stderr)
        return 2
    config = _load_or_exit()
    from telegram.error import InvalidToken

    try:
        asyncio.run(_serve(config, telegram))
    except InvalidToken:
        print(REFUSED_AT_START_UP, file=sys.stderr)  # one line: the traceback quotes the token
        return 2
    return 0


async def _serve(config: AppConfig, telegram: TelegramSettings) -> None:
    from bot.app import _post_init, build_application
    from bot.services import build_services

    services = await build_services(config)
    application = build_application(
        services, token=telegram.token, base_url=telegram.api_base_url, send_rate=_send_rate()
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with application:
            await _post_init(application)
            await application.start()
            assert application.updater is not None
            if telegram.webhook_url:
                await application.updater.start_webhook(
                    listen=telegram.webhook_listen,
                    port=telegram.webhook_port,
                    url_path="telegram",
                    webhook_url=telegram.webhook_url.rstrip("/") + "/telegram",
                    secret_token=telegram.webhook_secret,
                )
            else:
                await application.updater.start_polling()
            dispatching = _start_dispatcher(services, application, stop)
            logging.getLogger(__name__).info("bookbot is running")
            await stop.wait()
            if dispatching is not None:
                await dispatching
            await application.updater.stop()
            await application.stop()
    finally:
        await application.bot.shutdown()  # (no-op once shut down) a refused token leaves it open
        await services.aclose()


def _send_rate() -> float:
    """The token's budget, messages a second (``BOOKBOT_SEND_RATE``, default Telegram's 30)."""
    from bot.rate_limiter import TELEGRAM_RATE

    return float(os.environ.get("BOOKBOT_SEND_RATE", TELEGRAM_RATE))


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


def cmd_dispatch(args: argparse.Namespace) -> int:
    from bot.delivery.__main__ import main as dispatch_main

    dispatch_main(args.rest)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookbot", description="A Telegram booking assistant.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve Telegram (TELEGRAM_BOT_TOKEN)").set_defaults(func=cmd_run)
    chat = sub.add_parser("chat", help="book in the terminal, no Telegram needed")
    chat.add_argument("--language", default=os.environ.get("BOOKBOT_LANGUAGE", "en"))
    chat.add_argument(
        "--user", type=int, default=1, help="the Telegram user id to chat as (default 1)"
    )
    chat.set_defaults(func=cmd_chat)
    dispatch = sub.add_parser("dispatch", help="send due reminders and broadcasts")
    dispatch.add_argument("rest", nargs=argparse.REMAINDER)
    dispatch.set_defaults(func=cmd_dispatch)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("check-config", help="validate the configuration").set_defaults(
        func=cmd_check_config
    )
    check = sub.add_parser(
        "check-provider", help="sign in and read a business's catalog on its platform"
    )
    check.add_argument("business", help="the business's slug")
    check.set_defaults(func=cmd_check_provider)
    args = parser.parse_args(argv)
    _configure_logging(logging.INFO if args.command == "run" else logging.WARNING)
    if args.command is None:
        if os.environ.get("TELEGRAM_BOT_TOKEN"):
            return cmd_run(args)
        args.language = os.environ.get("BOOKBOT_LANGUAGE", "en")
        return cmd_chat(args)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
