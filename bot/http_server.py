"""The process's HTTP server (aiohttp): ``/healthz`` and ``/readyz`` always, and Telegram's
webhook at the configured URL's path when updates come by webhook.

- ``GET /healthz``: liveness, 200 while the process serves requests at all.
- ``GET /readyz``: readiness, 200 when the database answers ``SELECT 1`` and the Bot API answers
  ``getMe`` (not a message: it costs nothing of the sending budget), 503 naming which failed.
  The answer is reused for :data:`READY_CACHE_S`, so a busy orchestrator does not become load.

Several workers may listen on one port (``reuse_port``: the kernel spreads connections between
them), which is how ``bookbot run --workers N`` (:mod:`bot.workers`) runs N processes behind one
webhook.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.webhook import WebhookReceiver

log = logging.getLogger(__name__)

READY_CACHE_S = 5.0
CHECK_TIMEOUT_S = 3.0
#: how long a graceful stop waits for requests being answered
SHUTDOWN_TIMEOUT_S = 5.0


class Readiness:
    """Whether the database and the Bot API answer, checked at most every few seconds."""

    def __init__(self, database: AsyncEngine, bot: Bot) -> None:
        self.database = database
        self.bot = bot
        self._checked_at = -READY_CACHE_S
        self._problems: list[str] = []
        self._lock = asyncio.Lock()

    async def problems(self) -> list[str]:
        """What is not reachable (empty: ready)."""
        async with self._lock:
            if time.monotonic() - self._checked_at >= READY_CACHE_S:
                self._problems = [
                    problem
                    for problem in await asyncio.gather(
                        _check("database", self._database), _check("Bot API", self._bot_api)
                    )
                    if problem
                ]
                self._checked_at = time.monotonic()
            return self._problems

    async def _database(self) -> None:
        async with self.database.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def _bot_api(self) -> None:
        await self.bot.get_me()


async def _check(name: str, probe: Callable[[], Awaitable[None]]) -> str | None:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except Exception as error:
        return f"{name} unreachable ({type(error).__name__})"
    return None


class HttpServer:
    """Started by :meth:`start` (the port is bound when it returns), ended by :meth:`stop`."""

    def __init__(
        self,
        readiness: Readiness,
        *,
        host: str,
        port: int,
        webhook: WebhookReceiver | None = None,
        webhook_path: str = "/",
        reuse_port: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        #: share the port with this deployment's other workers (never set for one process, so
        #: a port already taken fails start-up instead of being silently shared)
        self.reuse_port = reuse_port
        self.readiness = readiness
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        if webhook is not None:
            app.router.add_post(webhook_path, webhook.receive)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )

    async def start(self) -> None:
        """Bind and serve (raises ``OSError`` when the port is taken)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_port=self.reuse_port or None)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise

    async def stop(self) -> None:
        """Stop listening and finish the requests being answered (again: nothing)."""
        if self._runner.server is not None:
            await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        problems = await self.readiness.problems()
        if problems:
            return web.Response(status=503, text="; ".join(problems) + "\n")
        return web.Response(text="ready\n")
