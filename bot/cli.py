"""The ``bookbot`` command: ``run`` (Telegram), ``chat`` (console), ``migrate``,
``check-config``, ``check-provider <business>``. With no subcommand it runs on Telegram when
``TELEGRAM_BOT_TOKEN`` is set and in the console otherwise."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.config import (
    REFUSED_AT_START_UP,
    AppConfig,
    ConfigError,
    TelegramSettings,
    config_path,
    load_config,
)


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


def cmd_run(args: argparse.Namespace) -> int:
    try:
        telegram = TelegramSettings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if not telegram.token:
        print("TELEGRAM_BOT_TOKEN is not set (use `bookbot chat` for the console)", file=sys.stderr)
        return 2
    workers = getattr(args, "workers", 1)
    if workers > 1:
        if not telegram.webhook_url:
            print(
                "bookbot could not start: several workers need a webhook (BOOKBOT_WEBHOOK_URL); "
                "polling is for one process",
                file=sys.stderr,
            )
            return 2
        from bot.workers import run_workers

        return run_workers(workers)
    config = _load_or_exit()
    from telegram.error import InvalidToken

    from bot.serve import Worker, one_line, serve

    worker = Worker.from_env()
    try:
        asyncio.run(serve(config, telegram, send_rate=_send_rate(worker.count), worker=worker))
    except InvalidToken:
        print(REFUSED_AT_START_UP, file=sys.stderr)  # one line: the traceback quotes the token
        return 2
    except Exception as error:
        logging.getLogger(__name__).debug("start-up failed", exc_info=True)
        print(f"bookbot could not start: {one_line(error, telegram.token)}", file=sys.stderr)
        return 1
    return 0


def _send_rate(workers: int = 1) -> float:
    """This process's budget, messages a second: the token's (``BOOKBOT_SEND_RATE``, default
    Telegram's 30) when the processes share it (``BOOKBOT_REDIS_URL``), else its share."""
    from bot.rate_limiter import TELEGRAM_RATE

    rate = float(os.environ.get("BOOKBOT_SEND_RATE", TELEGRAM_RATE))
    return rate if os.environ.get("BOOKBOT_REDIS_URL") else rate / max(1, workers)


def cmd_dispatch(args: argparse.Namespace) -> int:
    from bot.delivery.__main__ import main as dispatch_main

    dispatch_main(args.rest)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookbot", description="A Telegram booking assistant.")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="serve Telegram (TELEGRAM_BOT_TOKEN)")
    run.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("BOOKBOT_WORKERS", "1")),
        help="processes behind one webhook port (webhook only; default BOOKBOT_WORKERS or 1)",
    )
    run.set_defaults(func=cmd_run)
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
