"""Run a dispatcher process: ``python -m bot.delivery``.

The token and the Bot API base URL come from the environment (``TELEGRAM_BOT_TOKEN``,
``TELEGRAM_API_BASE_URL``), the database from ``--database-url`` or ``BOOKBOT_DATABASE_URL``
or the configuration file. Several processes may run against one database; give each
``--rate`` = the bot's limit divided by their number. SIGTERM or SIGINT stops it cleanly
(messages in flight finish, queued ones are released for the next dispatcher).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from datetime import timedelta

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import TelegramSettings
from bot.delivery.dispatcher import DEFAULT_RATE, Dispatcher
from bot.delivery.transport import LeanRequest
from storage.db import create_engine, create_session_factory


def _database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("BOOKBOT_DATABASE_URL"):
        return os.environ["BOOKBOT_DATABASE_URL"]
    from bot.config import load_config

    return load_config(check_secrets=False).database_url


#: environment variables through which httpx (and so HTTPXRequest) would use a proxy
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def proxy_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment asks for a proxy (in either case, as httpx reads it)."""
    return any(environ.get(name) or environ.get(name.lower()) for name in PROXY_VARIABLES)


def build_bot(token: str, base_url: str | None, pool: int) -> Bot:
    """A Bot without any rate limiter of its own: the dispatcher paces and retries itself.

    Its requests go through :class:`~bot.delivery.transport.LeanRequest` (a fraction of
    ``HTTPXRequest``'s CPU cost per message, which matters at 1,000 messages/s), except when a
    proxy is configured: only ``HTTPXRequest`` knows how to use one."""
    request: BaseRequest
    if proxy_configured():
        request = HTTPXRequest(connection_pool_size=pool, read_timeout=15, connect_timeout=10)
    else:
        request = LeanRequest(connection_pool_size=pool, read_timeout=15, connect_timeout=10)
    if base_url:
        return Bot(token, base_url=base_url.rstrip("/") + "/bot", request=request)
    return Bot(token, request=request)


async def amain(args: argparse.Namespace) -> None:
    settings = TelegramSettings.from_env()
    if not settings.token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set")
    engine = create_engine(_database_url(args.database_url))
    sessions = create_session_factory(engine)
    dispatcher_kwargs: dict[str, object] = {}
    if args.concurrency:
        dispatcher_kwargs["concurrency"] = args.concurrency
    bot = build_bot(settings.token, settings.api_base_url, (args.concurrency or 256) + 4)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with bot:
            dispatcher = Dispatcher(
                sessions,
                bot,
                rate=args.rate,
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
        "--rate", type=float, default=float(os.environ.get("BOOKBOT_SEND_RATE", DEFAULT_RATE))
    )
    parser.add_argument("--lease-seconds", type=float, default=120.0)
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
