"""Run a dispatcher process: ``python -m bot.delivery``.

The token and the Bot API base URL come from the environment (``TELEGRAM_BOT_TOKEN``,
``TELEGRAM_API_BASE_URL``), the database from ``--database-url`` or ``BOOKBOT_DATABASE_URL``
or the configuration file. Several processes may run against one database; give each
``--rate`` = the bot's limit divided by their number (``bookbot run`` sends reminders and
broadcasts itself too, unless ``BOOKBOT_DISPATCHER=off``). SIGTERM or SIGINT stops it cleanly
(messages in flight finish, queued ones are released for the next dispatcher).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

from telegram.error import InvalidToken
from telegram.ext import ExtBot

from bot import shared_budget
from bot.bot_api_request import AiohttpRequest
from bot.config import (
    REFUSED_AT_START_UP,
    ConfigError,
    TelegramSettings,
    bot_api_urls,
    usable_database_url,
)
from bot.delivery.dispatcher import Dispatcher
from bot.rate_limiter import TELEGRAM_RATE, Priority, TelegramRateLimiter
from storage.db import create_engine, create_session_factory


def _database_url(explicit: str | None) -> str:
    """``--database-url``, else ``BOOKBOT_DATABASE_URL``, else the configuration's; checked
    and anchored like the configuration's (:func:`bot.config.usable_database_url`)."""
    given = explicit or os.environ.get("BOOKBOT_DATABASE_URL")
    if not given:
        from bot.config import load_config

        return load_config(check_secrets=False).database_url
    try:
        return usable_database_url(given)
    except ValueError as problem:
        raise SystemExit(f"database URL: {problem}") from None


def build_bot(token: str, base_url: str | None, *, rate: float, pool: int) -> ExtBot[Priority]:
    """A dispatcher process's bot: the same request class and rate limiter as the
    Application's (``bot.app``), with ``rate`` messages a second of the token's budget, and the
    token's shared budget when ``BOOKBOT_REDIS_URL`` names one."""
    request = AiohttpRequest(connection_pool_size=pool, read_timeout=15, connect_timeout=10)
    limiter = TelegramRateLimiter(rate, shared=shared_budget.from_env(token, rate))
    if base_url:
        api_url, file_url = bot_api_urls(base_url)
        return ExtBot(
            token,
            base_url=api_url,
            base_file_url=file_url,
            request=request,
            rate_limiter=limiter,
        )
    return ExtBot(token, request=request, rate_limiter=limiter)


async def amain(args: argparse.Namespace) -> None:
    try:
        settings = TelegramSettings.from_env()
    except ConfigError as error:
        raise SystemExit(str(error)) from None
    if not settings.token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set")
    engine = create_engine(_database_url(args.database_url))
    sessions = create_session_factory(engine)
    dispatcher_kwargs: dict[str, object] = {}
    if args.concurrency:
        dispatcher_kwargs["concurrency"] = args.concurrency
    bot = build_bot(
        settings.token, settings.api_base_url, rate=args.rate, pool=(args.concurrency or 256) + 4
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with bot:
            dispatcher = Dispatcher(
                sessions,
                bot,
                lease=timedelta(seconds=args.lease_seconds),
                poll_interval=args.poll_seconds,
                **dispatcher_kwargs,  # type: ignore[arg-type]
            )
            logging.getLogger(__name__).info("dispatcher %s started", dispatcher.owner)
            await dispatcher.run(stop, until_idle=args.until_idle)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.delivery", description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--rate", type=float, default=float(os.environ.get("BOOKBOT_SEND_RATE", TELEGRAM_RATE))
    )
    parser.add_argument("--lease-seconds", type=float, default=120.0)
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(amain(args))
    except InvalidToken:
        print(REFUSED_AT_START_UP, file=sys.stderr)  # one line: the traceback quotes the token
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
